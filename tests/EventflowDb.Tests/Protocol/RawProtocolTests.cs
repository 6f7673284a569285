using System.Globalization;
using System.Text;
using EventflowDb.Protocol;
using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Protocol;

/// <summary>The wire protocol over raw sockets: inline commands, pipelining, split frames, malformed input.</summary>
public sealed class RawProtocolTests(ServerFixture fixture, ITestOutputHelper output)
    : SharedServerTest<ServerFixture>(fixture, output), IClassFixture<ServerFixture>
{
    private static string N(long n) => n.ToString(CultureInfo.InvariantCulture);

    [Fact]
    public async Task Inline_commands()
    {
        await using var c = await Server.OpenRawAsync();
        await c.SendAsync("PING\r\n");
        Assert.Equal("+PONG\r\n", (await c.ReadRawReplyAsync()).RawText);

        string stream = Unique("inline");
        await c.SendAsync($"ADD {stream} any T \"hello world\"\r\n");
        var e = StoredEvent.Parse(Assert.Single((await c.ReadReplyAsync()).Strings()));
        Assert.Equal(stream, e.Stream);
        EventAssert.JsonString("hello world", e.Data);

        await c.SendAsync($"add {stream} 1 Obj '{{\"a\":\"b c\"}}'\r\necho \"two words\"\r\nGET {stream}\r\n");
        var obj = StoredEvent.Parse(Assert.Single((await c.ReadReplyAsync()).Strings()));
        EventAssert.JsonEqual("""{"a":"b c"}""", obj.Data);
        Assert.Equal(1, obj.Version);
        Assert.Equal("two words", (await c.ReadReplyAsync()).Str());
        Assert.Equal([e.Raw, obj.Raw], (await c.ReadReplyAsync()).Strings());

        // Inline and RESP requests can be mixed on one connection.
        Assert.Equal("PONG", (await c.CommandAsync("PING")).Str());
        await c.SendAsync("EVENTCOUNT\r\n");
        Assert.True((await c.ReadReplyAsync()).Int() >= 2);
    }

    [Fact]
    public async Task Pipelined_mixed_commands_come_back_in_order()
    {
        await using var c = await Server.OpenRawAsync();
        string stream = Unique("pipe");
        var request = new List<byte>();
        var expectations = new List<Action<RespValue>>();
        int adds = 0;
        for (int i = 0; i < 1000; i++)
        {
            int n = i;
            switch (i % 5)
            {
                case 0:
                case 3:
                    {
                        long version = adds++;
                        request.AddRange(RespConnection.Encode("ADD", stream, N(version), "T", $$"""{"i":{{n}}}"""));
                        expectations.Add(r =>
                        {
                            var e = StoredEvent.Parse(Assert.Single(r.Strings()));
                            Assert.Equal(version, e.Version);
                            EventAssert.JsonEqual($$"""{"i":{{n}}}""", e.Data);
                        });
                        break;
                    }

                case 1:
                    request.AddRange(RespConnection.Encode("ECHO", "e" + N(n)));
                    expectations.Add(r => Assert.Equal("e" + N(n), r.Str()));
                    break;
                case 2:
                    {
                        long version = adds - 1;
                        request.AddRange(RespConnection.Encode("GET", stream, N(version), "1"));
                        expectations.Add(r => Assert.Equal(version, StoredEvent.Parse(Assert.Single(r.Strings())).Version));
                        break;
                    }

                default:
                    if (n % 10 == 4)
                    {
                        request.AddRange(Encoding.ASCII.GetBytes("PING\r\n"));
                        expectations.Add(r => Assert.Equal("PONG", r.Str()));
                    }
                    else
                    {
                        request.AddRange(RespConnection.Encode("ADD", stream, "0", "T", "conflict"));
                        long count = adds;
                        expectations.Add(r => Assert.Equal($"WRONGVERSION concurrent stream modification (expected 0, stream is at {count})", r.Text));
                    }

                    break;
            }
        }

        await c.SendAsync(request.ToArray());
        var replies = await c.ReadRepliesAsync(1000, TimeSpan.FromSeconds(60));
        for (int i = 0; i < replies.Count; i++)
        {
            try
            {
                expectations[i](replies[i]);
            }
            catch (Exception e)
            {
                Assert.Fail($"reply {i} ({RespText.Describe(replies[i])}) is wrong: {e.Message}");
            }
        }

        var all = await c.ReadWholeStreamAsync(stream);
        Assert.Equal(adds, all.Count);
        EventAssert.WholeStream(all, stream);
    }

    [Fact]
    public async Task Requests_split_into_single_bytes()
    {
        await using var c = await Server.OpenRawAsync();
        string stream = Unique("split");
        byte[] request = [.. RespConnection.Encode("ADD", stream, "any", "T", "{\"é\":\"ü\"}"), .. Encoding.ASCII.GetBytes("PING\r\n"), .. RespConnection.Encode("GET", stream)];
        foreach (byte b in request)
        {
            await c.SendAsync(new[] { b });
            await Task.Delay(1);
        }

        var added = StoredEvent.Parse(Assert.Single((await c.ReadReplyAsync()).Strings()));
        EventAssert.JsonEqual("{\"é\":\"ü\"}", added.Data);
        Assert.Equal("PONG", (await c.ReadReplyAsync()).Str());
        Assert.Equal([added.Raw], (await c.ReadReplyAsync()).Strings());
    }

    [Fact]
    public async Task A_large_bulk_argument_is_read_whole()
    {
        await using var c = await Server.OpenRawAsync();
        string big = string.Create(3 * 1024 * 1024, 0, (span, _) =>
        {
            for (int i = 0; i < span.Length; i++)
            {
                span[i] = (char)('a' + (i % 26));
            }
        });
        Assert.Equal(big, (await c.CommandAsync("ECHO", big)).Str());
        string stream = Unique("big");
        var e = StoredEvent.Parse(Assert.Single((await c.CommandAsync("ADD", stream, "any", "T", big)).Strings()));
        Assert.Equal(big, e.Data.GetString());
    }

    [Theory]
    [InlineData("*abc\r\n")]
    [InlineData("*1\r\n$-5\r\n")]
    [InlineData("*1\r\n$999999999999\r\n")]
    [InlineData("*2\r\n$4\r\nECHO\r\n$67108865\r\n")]
    [InlineData("*1\r\n:5\r\n")]
    public async Task Malformed_input_gets_a_protocol_error_and_the_connection_is_closed(string garbage)
    {
        await using var bystander = await Server.OpenRawAsync();
        string stream = Unique("bystander");
        await bystander.EventsAsync("ADD", stream, "any", "T", "before");
        var before = await StoreState.ReadAsync(bystander);

        await using var c = await Server.OpenRawAsync();
        Assert.Equal("PONG", (await c.CommandAsync("PING")).Str());
        await c.SendAsync(garbage);
        var reply = await c.ReadReplyAsync();
        Assert.True(reply.Type == RespType.Error && reply.Text!.StartsWith("ERR Protocol error", StringComparison.Ordinal), $"expected -ERR Protocol error..., got {RespText.Describe(reply)}");
        Assert.True(await c.WaitForCloseAsync(TimeSpan.FromSeconds(10)), "connection still open 10 s after a protocol error");

        Assert.Equal("PONG", (await bystander.CommandAsync("PING")).Str());
        Assert.Equal(before, await StoreState.ReadAsync(bystander));
        Assert.Single(await bystander.EventsAsync("GET", stream));

        await using var fresh = await Server.OpenRawAsync();
        Assert.Equal(before, await StoreState.ReadAsync(fresh));
    }

    [Fact]
    public async Task A_protocol_error_after_valid_requests_answers_them_first()
    {
        await using var c = await Server.OpenRawAsync();
        string stream = Unique("before-error");
        byte[] request = [.. RespConnection.Encode("ADD", stream, "any", "T", "ok"), .. RespConnection.Encode("ECHO", "x"), .. "*1\r\n$-7\r\n"u8.ToArray()];
        await c.SendAsync(request);
        var added = StoredEvent.Parse(Assert.Single((await c.ReadReplyAsync()).Strings()));
        Assert.Equal("x", (await c.ReadReplyAsync()).Str());
        var error = await c.ReadReplyAsync();
        Assert.StartsWith("ERR Protocol error", error.Text, StringComparison.Ordinal);
        Assert.True(await c.WaitForCloseAsync(TimeSpan.FromSeconds(10)));

        await using var other = await Server.OpenRawAsync();
        Assert.Equal([added.Raw], (await other.EventsAsync("GET", stream)).Select(e => e.Raw));
    }

    [Fact]
    public async Task Client_closing_mid_request_does_not_affect_the_store()
    {
        string stream = Unique("half");
        await using (var c = await Server.OpenRawAsync())
        {
            byte[] full = RespConnection.Encode("ADD", stream, "any", "T", "never");
            await c.SendAsync(full.AsMemory(0, full.Length - 5));
        }

        await using var other = await Server.OpenRawAsync();
        var before = await StoreState.ReadAsync(other);
        await Task.Delay(200);
        Assert.Empty(await other.EventsAsync("GET", stream));
        Assert.Equal(before, await StoreState.ReadAsync(other));
    }

    [Fact]
    public async Task Resp3_connection_gets_resp3_types()
    {
        await using var c = await Server.OpenRawAsync();
        var hello = await c.CommandRawAsync("HELLO", "3");
        Assert.StartsWith("%", hello.RawText, StringComparison.Ordinal);
        Assert.Equal("+PONG\r\n", (await c.CommandRawAsync("PING")).RawText);
        Assert.Equal("_\r\n", (await c.CommandRawAsync("CLIENT", "GETNAME")).RawText);
        Assert.StartsWith("-ERR unknown command", (await c.CommandRawAsync("nosuch")).RawText, StringComparison.Ordinal);
    }
}
