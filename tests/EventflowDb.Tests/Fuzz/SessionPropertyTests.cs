using System.Globalization;
using System.Text;
using CsCheck;
using EventflowDb.Server.Commands;
using Xunit.Abstractions;

namespace EventflowDb.Tests.Fuzz;

/// <summary>
/// "Any bytes get replies or a clean close, never an exception escaping the session": random bytes, and
/// well-formed requests (command names from the command table, arguments drawn from keywords, names, numbers, ids,
/// JSON and raw bytes) whose bytes are then mutated, each fed to a new ClientSession over in-memory pipes against
/// a real store (the fuzz harness's <see cref="EventflowDb.Fuzz.SessionTarget"/>). Each session must end within a
/// bound with well-formed replies, a reply per request and no internal error; the store then still answers a normal
/// ADD and GET. A fixed number of iterations on one thread; a failure prints CsCheck's seed
/// (repeat it with the environment variable CsCheck_Seed).
/// </summary>
public sealed class SessionPropertyTests(SessionFixture fixture, ITestOutputHelper output) : IClassFixture<SessionFixture>
{
    private static readonly string[] CommandNames = [.. CommandCatalog.Create(1 << 20).All.Select(c => c.Name).Order(StringComparer.Ordinal)];

    private static readonly string[] Keywords =
    [
        "CREATE", "READ", "ACK", "NACK", "RETRY", "PARK", "SKIP", "PARKED", "REPLAY", "INFO", "DELETE", "COUNT", "BLOCK",
        "CHANNEL", "ACKTIMEOUT", "MAXDELIVERIES", "any", "no_stream", "exists", "$all", "$", "stream:s-1", "category:s",
        "type:T", "stream:", "nope:x", "GET", "SETNAME", "SETINFO", "LIB-NAME", "ID", "LIST", "KILL", "AUTH", "2", "3",
        "default", "*", "s*", "[a-", "\\", "server", "clients", "DOCS", "NODES", "g1", "w1", "T",
    ];

    private static readonly string[] Numbers =
    [
        "0", "1", "2", "5", "-1", "10", "100", "1000", "2147483647", "2147483648", "-2147483649",
        "9223372036854775807", "9223372036854775808", "-9223372036854775808", "1.5", "", "00", "+1", " 1", "0x10",
    ];

    private static readonly string[] Ids =
    [
        "00000000000000000000000000", "01JD0000000000000000000000", "7ZZZZZZZZZZZZZZZZZZZZZZZZZ", "8ZZZZZZZZZZZZZZZZZZZZZZZZZ",
        "01JD000000000000000000000", "01jd0000000000000000000000", "0",
    ];

    private static readonly Gen<string> Stream = Gen.Int[0, 3].Select(i => $"s-{i}");

    private static readonly Gen<string> Json = Gen.Frequency(
        (3, Gen.Select(Stream, Gen.OneOf(Numbers), Gen.OneOf(Numbers), (s, v, l) => $"{{\"stream\":\"{s}\",\"version\":{(v.Length == 0 ? "0" : v)},\"limit\":{(l.Length == 0 ? "0" : l)}}}")),
        (3, Gen.Select(Stream, Gen.OneOf("\"any\"", "0", "\"no_stream\"", "\"exists\"", "3", "null"), Gen.OneOf("{}", "[1,2]", "\"s\"", "{\"a\":{\"b\":[]}}", "1e999", "{"),
            (s, v, d) => $"{{\"stream\":\"{s}\",\"version\":{v},\"events\":[{{\"type\":\"T\",\"data\":{d},\"message_id\":\"m-{s}\"}}]}}")),
        (2, Gen.OneOf("{", "{}", "[]", "{\"stream\":", "{\"offset\":\"00000000000000000000000000\",\"limit\":2,\"block\":5}", "{\"skip\":1,\"limit\":1}",
            "{\"stream\":\"s-1\",\"events\":[]}", "{\"stream\":\"s-1\",\"version\":0,\"events\":[{\"type\":\"\",\"data\":1}]}", "null", "\"x\"", "{\"a\":1,\"a\":2}")));

    private static readonly Gen<byte[]> Argument = Gen.Frequency(
        (5, Gen.OneOf(Keywords).Select(Encoding.UTF8.GetBytes)),
        (3, Stream.Select(Encoding.UTF8.GetBytes)),
        (3, Gen.OneOf(Numbers).Select(Encoding.UTF8.GetBytes)),
        (1, Gen.Long.Select(n => Encoding.UTF8.GetBytes(n.ToString(CultureInfo.InvariantCulture)))),
        (2, Gen.OneOf(Ids).Select(Encoding.UTF8.GetBytes)),
        (3, Json.Select(Encoding.UTF8.GetBytes)),
        (2, Gen.Byte.Array[0, 24]),
        (1, Gen.Select(Gen.Int[120, 1100], Gen.Char['a', 'z'], (n, c) => Encoding.UTF8.GetBytes(new string(c, n)))));

    /// <summary>A command from the table (in any letter case) with its arguments; GROUP mostly with a subcommand.</summary>
    private static readonly Gen<byte[][]> Request = Gen.Frequency(
        (6, Gen.Select(Gen.OneOf(CommandNames), Gen.Bool, Argument.Array[0, 6], (name, lower, args) => Prepend(lower ? name.ToLowerInvariant() : name, args))),
        (3, Gen.Select(Gen.OneOf("CREATE", "READ", "ACK", "NACK", "PARKED", "REPLAY", "INFO", "DELETE", "create"), Argument.Array[0, 7], (sub, args) => Prepend("GROUP", [Encoding.UTF8.GetBytes(sub), .. args]))));

    /// <summary>One change to the encoded bytes: kind, where, and the bytes it brings.</summary>
    private static readonly Gen<(int Kind, int Where, byte[] Bytes)> Mutation = Gen.Select(Gen.Int[0, 4], Gen.Int[0, int.MaxValue], Gen.Byte.Array[1, 6]);

    private static readonly Gen<byte[]> MutatedRequests = Gen.Select(
        Gen.Select(Request, Gen.Int[0, 4]).Array[1, 6],
        Gen.Frequency((1, Gen.Const(Array.Empty<(int, int, byte[])>())), (1, Mutation.Array[1, 4])),
        (requests, mutations) => Mutate([.. requests.SelectMany(r => r.Item2 == 0 ? Inline(r.Item1) : Multibulk(r.Item1))], mutations));

    private static readonly Gen<byte[]> RandomBytes = Gen.Frequency(
        (3, Gen.Byte.Array[0, 300]),
        (2, Gen.OneOf("*$\r\n0123456789- \"'\\abcGETADDGROUP{}:"u8.ToArray()).Array[0, 200]));

    [Fact]
    public async Task Random_bytes_get_replies_or_a_clean_close()
    {
        await RandomBytes.SampleAsync(async input => await fixture.RunAsync(input), output.WriteLine, iter: 300, threads: 1, print: Describe);
        await fixture.Target.ProbeAsync();
    }

    [Fact]
    public async Task Mutated_requests_of_every_command_get_replies_or_a_clean_close_and_the_store_still_answers()
    {
        int inputs = 0;
        await MutatedRequests.SampleAsync(async input =>
        {
            await fixture.RunAsync(input);
            if (++inputs % 10 == 0)
            {
                await fixture.Target.ProbeAsync();
            }
        }, output.WriteLine, iter: 400, threads: 1, print: Describe);
        await fixture.Target.ProbeAsync();
    }

    private static byte[][] Prepend(string name, byte[][] args) => [Encoding.UTF8.GetBytes(name), .. args];

    private static byte[] Multibulk(byte[][] args)
    {
        var bytes = new List<byte>(Encoding.ASCII.GetBytes($"*{args.Length}\r\n"));
        foreach (byte[] arg in args)
        {
            bytes.AddRange(Encoding.ASCII.GetBytes($"${arg.Length}\r\n"));
            bytes.AddRange(arg);
            bytes.AddRange("\r\n"u8.ToArray());
        }

        return [.. bytes];
    }

    /// <summary>An inline command: arguments with a blank or a quote are double-quoted with escapes, as redis-cli sends them.</summary>
    private static byte[] Inline(byte[][] args)
    {
        var line = new StringBuilder();
        foreach (byte[] arg in args)
        {
            if (line.Length > 0)
            {
                line.Append(' ');
            }

            bool plain = arg.Length > 0 && arg.All(b => b > 32 && b < 127 && b != '"' && b != '\'');
            if (plain)
            {
                line.Append(Encoding.ASCII.GetString(arg));
                continue;
            }

            line.Append('"');
            foreach (byte b in arg)
            {
                line.Append(b is (byte)'"' or (byte)'\\' ? $"\\{(char)b}" : b is >= 32 and < 127 ? ((char)b).ToString() : $"\\x{b:x2}");
            }

            line.Append('"');
        }

        return Encoding.ASCII.GetBytes(line.Append("\r\n").ToString());
    }

    private static byte[] Mutate(byte[] data, (int Kind, int Where, byte[] Bytes)[] mutations)
    {
        var bytes = new List<byte>(data);
        foreach (var (kind, where, insert) in mutations)
        {
            int at = bytes.Count == 0 ? 0 : where % bytes.Count;
            switch (kind)
            {
                case 0 when bytes.Count > 0:
                    bytes[at] ^= insert[0];
                    break;
                case 1:
                    bytes.RemoveRange(at, Math.Min(insert.Length, bytes.Count - at));
                    break;
                case 2:
                    bytes.InsertRange(at, insert);
                    break;
                case 3:
                    bytes.InsertRange(at, bytes.GetRange(at, Math.Min(insert[0] % 32, bytes.Count - at)));
                    break;
                default:
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
            }
        }

        return [.. bytes];
    }

    private static string Describe(byte[] input)
    {
        var text = new StringBuilder();
        foreach (byte b in input)
        {
            text.Append(b switch
            {
                (byte)'\r' => "\\r",
                (byte)'\n' => "\\n",
                (byte)'\\' => "\\\\",
                >= 32 and < 127 => ((char)b).ToString(),
                _ => $"\\x{b:x2}",
            });
        }

        return $"\"{text}\" ({input.Length} bytes)";
    }
}
