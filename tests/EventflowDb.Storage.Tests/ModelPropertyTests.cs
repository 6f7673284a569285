using System.Text.Json;
using CsCheck;
using EventflowDb.Storage;
using NUlid;

namespace EventflowDb.Storage.Tests;

/// <summary>Random sequences of appends against the store and a plain in-memory model, with a reopen in the middle.</summary>
public sealed class ModelPropertyTests
{
    private sealed record Op(int Stream, int ExpectedKind, int Delta, (bool HasId, int Id)[] Events);

    private static readonly Gen<Op> GenOp =
        Gen.Select(Gen.Int[0, 3], Gen.Int[0, 3], Gen.Int[-1, 1], Gen.Select(Gen.Bool, Gen.Int[0, 5]).Array[1, 3])
            .Select((s, k, d, e) => new Op(s, k, d, e));

    [Fact]
    public async Task Store_matches_the_model()
    {
        await Gen.Select(GenOp.Array[1, 30], Gen.Int[0, 30]).SampleAsync(
            async (ops, reopenAt) =>
            {
                await using var t = await TestStore.CreateAsync();
                var model = new Dictionary<string, List<(string Data, string? MessageId)>>();
                for (int i = 0; i < ops.Length; i++)
                {
                    if (i == reopenAt)
                    {
                        var checksum = t.Store.Checksum;
                        if (i % 2 == 0)
                        {
                            await t.CrashAndReopenAsync();
                        }
                        else
                        {
                            await t.ReopenAsync();
                        }
                        Assert.Equal(checksum, t.Store.Checksum);
                    }

                    await ApplyAsync(t, model, ops[i], i);
                }

                await CompareAsync(t, model);
            },
            iter: 12,
            threads: 1);
    }

    private static async Task ApplyAsync(TestStore t, Dictionary<string, List<(string Data, string? MessageId)>> model, Op op, int index)
    {
        string stream = $"stream-{op.Stream}";
        var stored = model.TryGetValue(stream, out var list) ? list : [];
        long count = stored.Count;
        // Message ids are unique within a request (the caller rejects repeats before the store sees them).
        var used = new HashSet<string>();
        var events = op.Events
            .Select((e, j) => (Data: $"{{\"op\":{index},\"j\":{j}}}", MessageId: e.HasId && used.Add($"m{e.Id}") ? $"m{e.Id}" : null))
            .ToList();
        var expected = op.ExpectedKind switch
        {
            0 => ExpectedVersion.Any,
            1 => ExpectedVersion.NoStream,
            2 => ExpectedVersion.Exists,
            _ => ExpectedVersion.Exact(Math.Max(0, count + op.Delta)),
        };

        int hits = events.Count(e => e.MessageId is not null && stored.Any(s => s.MessageId == e.MessageId));
        AppendStatus want;
        if (hits > 0 && hits == events.Count)
        {
            want = AppendStatus.Duplicate;
        }
        else if (hits > 0)
        {
            want = AppendStatus.PartialDuplicate;
        }
        else
        {
            want = expected.Value switch
            {
                -1 => AppendStatus.Appended,
                -2 => count == 0 ? AppendStatus.Appended : AppendStatus.WrongVersionConflict,
                -3 => count > 0 ? AppendStatus.Appended : AppendStatus.WrongVersionGap,
                long n when n < count => AppendStatus.WrongVersionConflict,
                long n when n > count => AppendStatus.WrongVersionGap,
                _ => AppendStatus.Appended,
            };
        }

        var result = await t.AppendAsync(stream, expected, events.Select(e => TestStore.Event(data: e.Data, messageId: e.MessageId)).ToArray());
        Assert.Equal(want, result.Status);
        Assert.Equal(count, result.StreamCount);
        if (want == AppendStatus.Duplicate)
        {
            var firstData = events.Select(e => stored.First(s => s.MessageId == e.MessageId).Data);
            Assert.Equal(firstData, result.Events.Select(e => JsonDocument.Parse(e).RootElement.GetProperty("data").GetRawText()));
        }
        else if (want == AppendStatus.Appended)
        {
            stored.AddRange(events);
            model[stream] = stored;
        }
    }

    private static async Task CompareAsync(TestStore t, Dictionary<string, List<(string Data, string? MessageId)>> model)
    {
        Assert.Equal(model.Values.Sum(v => v.Count), t.Store.EventCount);
        Assert.Equal(model.Count, t.Store.StreamCount);
        foreach (var (stream, events) in model)
        {
            var read = await t.ReadStreamAsync(stream);
            Assert.Equal(events.Select(e => e.Data), read.Select(e => e.GetProperty("data").GetRawText()));
            Assert.Equal(events.Select(e => e.MessageId), read.Select(e => e.TryGetProperty("message_id", out var m) ? m.GetString() : null));
        }

        // The checksum is the chain over GETALL's bytes in order.
        var page = new EventPage();
        int n = await t.Store.ReadAllAsync(Ulid.Empty, 100_000, page);
        ulong hash = 0;
        for (int i = 0; i < n; i++)
        {
            hash = System.IO.Hashing.XxHash64.HashToUInt64(page[i], (long)hash);
        }

        Assert.Equal(hash, t.Store.Checksum.Value);
        if (n > 0)
        {
            Assert.Equal(JsonDocument.Parse(page[n - 1].ToArray()).RootElement.GetProperty("id").GetString(), t.Store.Checksum.LastId.ToString());
        }

    }
}
