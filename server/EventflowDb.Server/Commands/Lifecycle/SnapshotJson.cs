using EventflowDb.Storage;

namespace EventflowDb.Server.Commands.Lifecycle;

/// <summary>SNAPSHOT GET's reply (and <c>GET /streams/{stream}/snapshot</c>'s body): <c>{"stream","version","data","added_at"}</c>, data as saved.</summary>
internal static class SnapshotJson
{
    public static byte[] Write(string stream, StreamSnapshot snapshot)
    {
        var buffer = new ByteBuffer(snapshot.Data.Length + 128);
        buffer.Write("{\"stream\":"u8);
        EventJsonWriter.WriteString(buffer, stream);
        buffer.Write(",\"version\":"u8);
        EventJsonWriter.WriteInt(buffer, snapshot.Version);
        buffer.Write(",\"data\":"u8);
        buffer.Write(snapshot.Data.Span);
        buffer.Write(",\"added_at\":"u8);
        EventJsonWriter.WriteTimestamp(buffer, snapshot.AddedAtMs);
        buffer.Write((byte)'}');
        return buffer.WrittenSpan.ToArray();
    }
}
