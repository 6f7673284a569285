using EventflowDb.Server.Groups;
using EventflowDb.Tests.Harness;
using NUlid;

namespace EventflowDb.Tests.Groups;

/// <summary>The consumer group journal on real files: replay, compaction into a snapshot, torn last record.</summary>
public sealed class GroupJournalTests : IDisposable
{
    private readonly string _directory = ServerProcess.NewTempDirectory();

    public void Dispose() => ServerProcess.TryDeleteDirectory(_directory);

    [Fact]
    public void State_survives_reopening_across_compactions()
    {
        var ids = Enumerable.Range(0, 400).Select(_ => Ulid.NewUlid()).OrderBy(id => id).ToList();
        var (journal, groups) = GroupJournal.Open(_directory, Environment.TickCount64, compactBytes: 2048);
        using (journal)
        {
            Commit(journal, groups, new GroupRecord { Op = GroupOp.Create, Group = "g", Channel = "$all", AckTimeoutMs = 1000, MaxDeliveries = 5 });
            Commit(journal, groups, new GroupRecord { Op = GroupOp.Create, Group = "gone", Channel = "$all", AckTimeoutMs = 1000, MaxDeliveries = 5 });
            Commit(journal, groups, new GroupRecord { Op = GroupOp.Delete, Group = "gone" });
            for (int i = 0; i < ids.Count; i += 4)
            {
                Commit(journal, groups, new GroupRecord { Op = GroupOp.Deliver, Group = "g", Consumer = $"c{i % 3}", Ids = ids[i..(i + 4)], Position = ids[i + 3] });
                Commit(journal, groups, new GroupRecord { Op = GroupOp.Drop, Group = "g", Ids = [ids[i]] });
                Commit(journal, groups, new GroupRecord { Op = GroupOp.Park, Group = "g", Ids = [ids[i + 1]] });
                Commit(journal, groups, new GroupRecord { Op = GroupOp.Deliver, Group = "g", Consumer = "again", Ids = [ids[i + 2]], Position = ids[i + 3] });
            }
        }

        Assert.True(File.Exists(Path.Combine(_directory, "consumer-groups.json")), "the journal was never compacted");
        Assert.True(new FileInfo(Path.Combine(_directory, "consumer-groups.journal")).Length < 4096);

        var (reopened, recovered) = GroupJournal.Open(_directory, Environment.TickCount64, compactBytes: 2048);
        using (reopened)
        {
            AssertSame(groups["g"], Assert.Single(recovered.Values));
        }
    }

    [Fact]
    public void A_torn_last_record_is_cut_off_and_appends_go_on()
    {
        var first = Ulid.NewUlid();
        var (journal, groups) = GroupJournal.Open(_directory, Environment.TickCount64);
        using (journal)
        {
            Commit(journal, groups, new GroupRecord { Op = GroupOp.Create, Group = "g", Channel = "$all", AckTimeoutMs = 1000, MaxDeliveries = 5 });
            Commit(journal, groups, new GroupRecord { Op = GroupOp.Deliver, Group = "g", Consumer = "c", Ids = [first], Position = first });
        }

        string path = Path.Combine(_directory, "consumer-groups.journal");
        File.AppendAllText(path, """{"seq":3,"op":"Drop","group":"g","ids":[""");
        var second = Ulid.NewUlid();
        var (reopened, recovered) = GroupJournal.Open(_directory, Environment.TickCount64);
        using (reopened)
        {
            AssertSame(groups["g"], recovered["g"]);
            Commit(reopened, recovered, new GroupRecord { Op = GroupOp.Deliver, Group = "g", Consumer = "c", Ids = [second], Position = second });
        }

        var (last, final) = GroupJournal.Open(_directory, Environment.TickCount64);
        using (last)
        {
            Assert.Equal([first, second], final["g"].Pending.Keys);
            Assert.Equal(second, final["g"].Position);
        }
    }

    private static void Commit(GroupJournal journal, Dictionary<string, ConsumerGroup> groups, GroupRecord record)
    {
        journal.Append(record, groups.Values);
        record.Apply(groups, Environment.TickCount64);
    }

    private static void AssertSame(ConsumerGroup expected, ConsumerGroup actual)
    {
        Assert.Equal(expected.Name, actual.Name);
        Assert.Equal(expected.Channel, actual.Channel);
        Assert.Equal(expected.Position, actual.Position);
        Assert.Equal(expected.AckTimeoutMs, actual.AckTimeoutMs);
        Assert.Equal(expected.MaxDeliveries, actual.MaxDeliveries);
        Assert.Equal(expected.Consumers, actual.Consumers);
        Assert.Equal(expected.Parked, actual.Parked);
        Assert.Equal(expected.Pending.Keys, actual.Pending.Keys);
        Assert.Equal(expected.Pending.Values.Select(p => (p.Deliveries, p.Consumer)), actual.Pending.Values.Select(p => (p.Deliveries, p.Consumer)));
    }
}
