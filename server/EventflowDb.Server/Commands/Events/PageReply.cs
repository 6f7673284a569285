using EventflowDb.Protocol;
using EventflowDb.Storage;

namespace EventflowDb.Server.Commands.Events;

/// <summary>Writes a page of JSON documents as an array of bulk strings.</summary>
internal static class PageReply
{
    public static void Write(RespWriter writer, EventPage page)
    {
        writer.WriteArrayHeader(page.Count);
        for (int i = 0; i < page.Count; i++)
        {
            writer.WriteBulkString(page[i]);
        }
    }
}
