using System.Text.Json;
using EventflowDb.Tests.Harness;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Commands;

/// <summary>Every rejected request: the error code word, and that neither the store nor the connection is affected.</summary>
public sealed class ErrorTests(ServerFixture fixture, ITestOutputHelper output)
    : SharedServerTest<ServerFixture>(fixture, output), IClassFixture<ServerFixture>
{
    private const string ZeroUuid = "00000000-0000-0000-0000-000000000000";

    private static string Json(object value) => JsonSerializer.Serialize(value);

    private static string Add(string stream, object events, object? version = null) => version is null
        ? Json(new { stream, events })
        : Json(new { stream, version, events });

    /// <summary>Sends <paramref name="args"/> on a raw connection, expects an error starting with <paramref name="prefix"/>, and checks that nothing changed and the connection still works.</summary>
    private async Task<string> RejectedAsync(string prefix, params string[] args)
    {
        await using var c = await Server.OpenRawAsync();
        var before = await StoreState.ReadAsync(c);
        string error = await c.ErrorAsync(args);
        EventAssert.StartsWith(prefix, error);
        Assert.Equal("PONG", (await c.CommandAsync("PING")).Str());
        Assert.Equal(before, await StoreState.ReadAsync(c));
        return error;
    }

    [Fact]
    public async Task Unknown_command()
    {
        await RejectedAsync("ERR unknown command 'foo'", "foo");
        await RejectedAsync("ERR unknown command 'foo'", "foo", "bar", "baz");
    }

    [Fact]
    public async Task Wrong_number_of_arguments()
    {
        Assert.Equal("ERR wrong number of arguments for 'get' command", await RejectedAsync("ERR", "GET"));
        Assert.Equal("ERR wrong number of arguments for 'add' command", await RejectedAsync("ERR", "ADD"));
        Assert.Equal("ERR wrong number of arguments for 'get' command", await RejectedAsync("ERR", "get"));
        Assert.Equal("ERR wrong number of arguments for 'eventcount' command", await RejectedAsync("ERR", "EVENTCOUNT", "extra"));
        await RejectedAsync("ERR", "ADD", Unique("arity"), "any", "T");
        await RejectedAsync("ERR", "ADD", Unique("arity"), "any", "T", "d", "U");
    }

    [Fact]
    public async Task Bad_json()
    {
        await RejectedAsync("ERR", "ADD", "{\"stream\":");
        await RejectedAsync("ERR", "ADD", "{nope}");
        await RejectedAsync("ERR", "ADD", "{\"stream\":\"s\",\"events\":[{\"type\":\"T\",\"data\":}]}");
        await RejectedAsync("ERR", "GET", "{\"stream\":\"s\",");
        await RejectedAsync("ERR", "GETALL", "{\"offset\":");
        await RejectedAsync("ERR", "LISTSTREAMS", "{");
    }

    [Fact]
    public async Task Bad_numbers_and_missing_fields_are_errors()
    {
        string stream = Unique("bad");
        Assert.Matches("^(ERR|INVALID) ", await RejectedAsync("", "ADD", stream, "abc", "T", "d"));
        Assert.Matches("^(ERR|INVALID) ", await RejectedAsync("", "GET", stream, "abc"));
        Assert.Matches("^(ERR|INVALID) ", await RejectedAsync("", "GET", stream, "0", "abc"));
        Assert.Matches("^(ERR|INVALID) ", await RejectedAsync("", "ADD", Json(new { stream, events = new[] { new { type = "T" } } })));
        Assert.Matches("^(ERR|INVALID) ", await RejectedAsync("", "ADD", Json(new { events = new[] { new { type = "T", data = 1 } } })));
    }

    [Fact]
    public async Task Empty_type_and_empty_event_list_are_invalid()
    {
        string stream = Unique("invalid");
        await RejectedAsync("INVALID", "ADD", stream, "any", "", "d");
        await RejectedAsync("INVALID", "ADD", stream, "any", "T", "d", "", "d");
        await RejectedAsync("INVALID", "ADD", Add(stream, new[] { new { type = "", data = 1 } }));
        await RejectedAsync("INVALID", "ADD", Add(stream, Array.Empty<object>()));
    }

    [Fact]
    public async Task Stream_name_rules()
    {
        await RejectedAsync("INVALID", "ADD", "", "any", "T", "d");
        await RejectedAsync("INVALID", "ADD", new string('s', 257), "any", "T", "d");
        await RejectedAsync("INVALID", "ADD", new string('é', 129), "any", "T", "d");
        await RejectedAsync("INVALID", "ADD", Add(new string('s', 257), new[] { new { type = "T", data = 1 } }));
        foreach (var bad in new[] { "a\nb", "a\u0001b", "tab\there", "x\u001f", "del\u007f" })
        {
            await RejectedAsync("INVALID", "ADD", bad, "any", "T", "d");
        }

        Assert.Contains("stream cannot be all zeroes", await RejectedAsync("INVALID", "ADD", ZeroUuid, "any", "T", "d"));
        Assert.Contains("stream cannot be all zeroes", await RejectedAsync("INVALID", "ADD", Add(ZeroUuid, new[] { new { type = "T", data = 1 } })));

        // The limits are in bytes and inclusive.
        await using var c = await Server.OpenRawAsync();
        string ascii256 = new string('s', 250) + Guid.NewGuid().ToString("N")[..6];
        string utf256 = string.Concat(Guid.NewGuid().ToString("N").AsSpan(0, 6), new string('é', 125));
        Assert.Equal(256, System.Text.Encoding.UTF8.GetByteCount(utf256));
        Assert.Equal(ascii256, Assert.Single(await c.EventsAsync("ADD", ascii256, "any", "T", "d")).Stream);
        Assert.Equal(utf256, Assert.Single(await c.EventsAsync("ADD", utf256, "any", "T", "d")).Stream);
        Assert.Single(await c.EventsAsync("GET", utf256));

        // A real UUID is fine.
        string uuid = Guid.NewGuid().ToString();
        Assert.Equal(uuid, Assert.Single(await c.EventsAsync("ADD", uuid, "any", "T", "d")).Stream);
    }

    [Fact]
    public async Task Type_and_message_id_length_limits()
    {
        string stream = Unique("limits");
        await RejectedAsync("INVALID", "ADD", stream, "any", new string('t', 129), "d");
        await RejectedAsync("INVALID", "ADD", Add(stream, new[] { new { type = new string('t', 129), data = 1 } }));
        await RejectedAsync("INVALID", "ADD", Add(stream, new[] { new { type = "T", data = 1, message_id = new string('m', 129) } }));
        await RejectedAsync("INVALID", "ADD", Add(stream, new[] { new { type = "T", data = 1, message_id = new string('é', 65) } }));

        await using var c = await Server.OpenRawAsync();
        var ok = await c.EventsAsync("ADD", Add(stream, new[] { new { type = new string('t', 128), data = 1, message_id = new string('m', 128) } }));
        Assert.Equal(new string('t', 128), Assert.Single(ok).Type);
        Assert.Equal(new string('m', 128), ok[0].MessageId);
        Assert.Equal(new string('u', 128), Assert.Single(await c.EventsAsync("ADD", stream, "any", new string('u', 128), "d")).Type);
    }

    [Fact]
    public async Task Duplicate_message_id_inside_one_add_is_invalid()
    {
        string stream = Unique("dupe");
        await RejectedAsync("INVALID", "ADD", Add(stream, new[]
        {
            new { type = "T", data = 1, message_id = "same" },
            new { type = "U", data = 2, message_id = "other" },
            new { type = "V", data = 3, message_id = "same" },
        }));
    }

    [Fact]
    public async Task Negative_limits_and_versions_are_invalid()
    {
        string stream = Unique("negative");
        await using (var c = await Server.OpenRawAsync())
        {
            await c.EventsAsync("ADD", stream, "any", "T", "d");
        }

        await RejectedAsync("INVALID", "GET", stream, "0", "-1");
        await RejectedAsync("INVALID", "GET", stream, "-1");
        await RejectedAsync("INVALID", "GET", Json(new { stream, version = 0, limit = -5 }));
        await RejectedAsync("INVALID", "GET", Json(new { stream, version = -1 }));
        await RejectedAsync("INVALID", "GETALL", "0", "-1");
        await RejectedAsync("INVALID", "GETALL", Json(new { offset = "0", limit = -1 }));
        await RejectedAsync("INVALID", "LISTSTREAMS", "0", "-1");
        await RejectedAsync("INVALID", "ADD", stream, "-1", "T", "d");
        await RejectedAsync("INVALID", "ADD", Add(stream, new[] { new { type = "T", data = 1 } }, -2));
    }

    [Fact]
    public async Task An_add_over_the_append_size_limit_is_too_large()
    {
        string stream = Unique("huge");
        await RejectedAsync("TOOLARGE", "ADD", stream, "any", "T", new string('x', 5 * 1024 * 1024));

        var args = new List<string> { "ADD", stream, "any" };
        string chunk = new('y', 2048);
        for (int i = 0; i < 3000; i++)
        {
            args.Add("T");
            args.Add(chunk);
        }

        await RejectedAsync("TOOLARGE", [.. args]);
        await RejectedAsync("TOOLARGE", "ADD", Add(stream, new[] { new { type = "T", data = new string('z', 5 * 1024 * 1024) } }));

        // A large ADD under the limit is fine.
        await using var c = await Server.OpenRawAsync();
        var e = Assert.Single(await c.EventsAsync("ADD", stream, "any", "T", new string('x', 1024 * 1024)));
        Assert.Equal(1024 * 1024, e.Data.GetString()!.Length);
        Assert.Equal([e.Raw], (await c.EventsAsync("GET", stream)).Select(x => x.Raw));
    }

    [Fact]
    public async Task Errors_do_not_close_the_connection_and_later_commands_work()
    {
        await using var c = await Server.OpenRawAsync();
        string stream = Unique("after-errors");
        Assert.True((await c.CommandAsync("foo")).IsError());
        Assert.True((await c.CommandAsync("GET")).IsError());
        Assert.True((await c.CommandAsync("ADD", "{bad")).IsError());
        Assert.True((await c.CommandAsync("ADD", stream, "5", "T", "d")).IsError());
        Assert.True((await c.CommandAsync("ADD", ZeroUuid, "any", "T", "d")).IsError());
        var e = Assert.Single(await c.EventsAsync("ADD", stream, "0", "T", "d"));
        Assert.Equal(0, e.Version);
        Assert.Equal("PONG", (await c.CommandAsync("PING")).Str());
    }
}
