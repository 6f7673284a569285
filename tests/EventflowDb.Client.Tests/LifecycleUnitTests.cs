using System.Text;
using System.Text.Json;
using EventflowDb.Client.Tests.Support;
using NUlid;

namespace EventflowDb.Client.Tests;

/// <summary>The client's side of stream lifecycle, without a server: forgotten events, STREAMMETA and SNAPSHOT replies, argument checks.</summary>
public sealed class LifecycleUnitTests
{
    private static readonly Ulid Id = Ulid.NewUlid();

    [Fact]
    public void A_forgotten_event_is_read_with_null_data_no_metadata_and_Forgotten_set()
    {
        string json = $$"""{"id":"{{Id}}","position":4,"stream":"s-1","version":1,"type":"Deposited","data":null,"metadata":null,"causation_id":"{{Id}}","correlation_id":"{{Id}}","message_id":"m-1","added_at":"2025-01-02T03:04:05Z","forgotten":true}""";
        var e = WireFormat.ReadEvent(Encoding.UTF8.GetBytes(json));

        Assert.True(e.Forgotten);
        Assert.Equal("null", e.GetDataJson());
        Assert.Null(e.Metadata);
        Assert.Null(e.GetMetadataJson());
        Assert.Equal((4L, "s-1", 1L, "Deposited", Id), (e.Position, e.Stream, e.Version, e.Type, e.Id));
        Assert.Null(e.DeserializeMetadata(TestJsonContext.Default.AuditMetadata));
        var typed = Assert.Throws<InvalidOperationException>(() => e.Deserialize(TestJsonContext.Default.Deposited));
        Assert.Contains("forgotten", typed.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => new EventTypeMap(TestJsonContext.Default).Add(TestJsonContext.Default.Deposited).Deserialize(e));
        Assert.EndsWith("forgotten", e.ToString(), StringComparison.Ordinal);

        // A server that leaves the data out of a forgotten event is read the same way.
        string withoutData = $$"""{"id":"{{Id}}","position":4,"stream":"s-1","version":1,"type":"T","added_at":"2025-01-02T03:04:05Z","forgotten":true}""";
        var bare = WireFormat.ReadEvent(Encoding.UTF8.GetBytes(withoutData));
        Assert.True(bare.Forgotten);
        Assert.Equal("null", bare.GetDataJson());
    }

    [Fact]
    public void An_event_that_was_not_forgotten_has_Forgotten_false()
    {
        string json = $$"""{"id":"{{Id}}","position":0,"stream":"s","version":0,"type":"T","data":{"a":1},"added_at":"2025-01-02T03:04:05Z","forgotten":false}""";
        Assert.False(WireFormat.ReadEvent(Encoding.UTF8.GetBytes(json)).Forgotten);
        string without = $$"""{"id":"{{Id}}","position":0,"stream":"s","version":0,"type":"T","data":{"a":1},"added_at":"2025-01-02T03:04:05Z"}""";
        Assert.False(WireFormat.ReadEvent(Encoding.UTF8.GetBytes(without)).Forgotten);
    }

    [Theory]
    [InlineData("""{"stream":"s","max_count":10,"max_age":60000,"truncated_before":3,"deleted":true,"forgottenBefore":2,"nextVersion":12,"future":[1]}""")]
    [InlineData("""{"stream":"s","maxCount":10,"maxAge":60000,"truncated_before":3,"deleted":true,"forgotten_before":2,"next_version":12}""")]
    public void STREAMMETA_replies_are_read_with_zero_limits_as_none(string json)
    {
        var m = WireFormat.ReadStreamMetadata(Encoding.UTF8.GetBytes(json));
        Assert.Equal(new StreamMetadata("s", 10, TimeSpan.FromMinutes(1), 3, true, 2, 12), m);

        var none = WireFormat.ReadStreamMetadata("""{"stream":"s","maxCount":0,"maxAge":0,"truncated_before":0,"deleted":false}"""u8.ToArray());
        Assert.Equal(new StreamMetadata("s", null, null, 0, false, 0, 0), none);
        Assert.Throws<EventflowDbException>(() => WireFormat.ReadStreamMetadata("""{"maxCount":1}"""u8.ToArray()));
        Assert.Throws<EventflowDbException>(() => WireFormat.ReadStreamMetadata("not json"u8.ToArray()));
    }

    [Fact]
    public void SNAPSHOT_GET_replies_keep_the_state_as_raw_json()
    {
        var s = WireFormat.ReadSnapshot("""{"stream":"s","version":7,"data":{ "amount" : 5 },"added_at":"2025-01-02T03:04:05.5Z"}"""u8.ToArray());
        Assert.Equal("s", s.Stream);
        Assert.Equal(7, s.Version);
        Assert.Equal("""{ "amount" : 5 }""", Encoding.UTF8.GetString(s.State.Span));
        Assert.Equal(new DateTimeOffset(2025, 1, 2, 3, 4, 5, 500, TimeSpan.Zero), s.AddedAt);

        var ms = WireFormat.ReadSnapshot("""{"stream":"s","version":0,"data":"text","added_at":1735787045000}"""u8.ToArray());
        Assert.Equal("\"text\"", Encoding.UTF8.GetString(ms.State.Span));
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1735787045000), ms.AddedAt);

        Assert.Throws<EventflowDbException>(() => WireFormat.ReadSnapshot("""{"stream":"s","version":1}"""u8.ToArray()));
    }

    [Fact]
    public async Task Lifecycle_methods_check_their_arguments_before_sending()
    {
        // Nothing listens on this port: an argument error must come first, without any attempt to connect.
        var client = await ConnectLazilyAsync();
        await using (client)
        {
            await Assert.ThrowsAsync<ArgumentException>(() => client.DeleteStreamAsync(""));
            await Assert.ThrowsAsync<ArgumentException>(() => client.DeleteStreamAsync("s", ExpectedVersion.NoStream));
            await Assert.ThrowsAsync<ArgumentException>(() => client.DeleteStreamAsync("s", ExpectedVersion.Exists));
            await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.TruncateStreamAsync("s", -1));
            await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.SetStreamMetadataAsync("s", 0, null));
            await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.SetStreamMetadataAsync("s", null, TimeSpan.FromMilliseconds(-5)));
            await Assert.ThrowsAsync<ArgumentException>(() => client.GetStreamMetadataAsync(""));
            await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.SaveSnapshotAsync("s", -1, new Renamed("x"), TestJsonContext.Default.Renamed));
            await Assert.ThrowsAsync<ArgumentNullException>(() => client.SaveSnapshotAsync("s", 0, (Renamed)null!, TestJsonContext.Default.Renamed));
            await Assert.ThrowsAsync<ArgumentException>(() => client.GetSnapshotAsync("", TestJsonContext.Default.Renamed));

            // The server would keep a scalar state as a JSON string of its text: refused, a state is an object or an array.
            var scalar = await Assert.ThrowsAsync<ArgumentException>(() => client.SaveSnapshotAsync("s", 0, 42m, TestJsonContext.Default.Decimal));
            Assert.Equal("state", scalar.ParamName);
            await Assert.ThrowsAsync<ArgumentException>(() => client.SaveSnapshotAsync("s", 0, "text"));
            await Assert.ThrowsAsync<ArgumentException>(() => client.ForgetStreamAsync(""));
        }
    }

    private static Task<EventflowDbClient> ConnectLazilyAsync() =>
        EventflowDbClient.ConnectAsync($"127.0.0.1:{EventflowDb.Tests.Harness.ServerProcess.FreePort()},abortConnect=false,connectTimeout=500");
}
