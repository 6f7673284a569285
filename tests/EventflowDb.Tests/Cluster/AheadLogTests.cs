using EventflowDb.Server.Cluster;
using Xunit;

namespace EventflowDb.Tests.Cluster;

/// <summary>
/// <see cref="AheadLog"/> on disk: what an async leader applied ahead of the commit must be known after a crash, a torn
/// record must not be read as one, and checked records must not pile up.
/// </summary>
public sealed class AheadLogTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("efdb-ahead-").FullName;

    private string FilePath => Path.Combine(_directory, AheadLog.FileName);

    [Fact]
    public void Records_survive_a_reopen_and_are_taken_in_log_order()
    {
        using (var log = new AheadLog(_directory))
        {
            log.Add(10, 3);
            log.Add(11, 3);
            log.Add(12, 3);
            Assert.Equal(new AheadLog.Record(10, 3, Live: true), log.Take(10));
        }

        using var reopened = new AheadLog(_directory);

        // The taken record is still in the file (only emptied when none is left): it is read again, not live.
        Assert.Equal(3, reopened.Count);
        Assert.Equal(12, reopened.HighestIndex);
        Assert.False(reopened.OnlyLive(3));

        // Taking 12 removes 10 and 11 with it (indexes are committed in order).
        Assert.Equal(new AheadLog.Record(12, 3, Live: false), reopened.Take(12));
        Assert.Equal(0, reopened.Count);
        Assert.Equal(long.MaxValue, reopened.LowestIndex);
        Assert.Equal(0, new FileInfo(FilePath).Length);
    }

    [Fact]
    public void A_torn_record_at_the_end_is_cut_and_the_next_record_follows_the_last_whole_one()
    {
        using (var log = new AheadLog(_directory))
        {
            log.Add(5, 2);
            log.Add(6, 2);
        }

        using (var file = new FileStream(FilePath, FileMode.Append))
        {
            file.Write(new byte[] { 7, 0, 0, 0, 0 });
        }

        using (var log = new AheadLog(_directory))
        {
            Assert.Equal(2, log.Count);
            Assert.Equal(32, new FileInfo(FilePath).Length);
            log.Add(7, 4);
        }

        using var reopened = new AheadLog(_directory);
        Assert.Equal(3, reopened.Count);
        Assert.Null(reopened.Take(4));
        Assert.Equal(new AheadLog.Record(7, 4, Live: false), reopened.Take(7));
    }

    [Fact]
    public void A_record_of_zeros_or_out_of_order_ends_what_is_read()
    {
        using (var log = new AheadLog(_directory))
        {
            log.Add(8, 1);
        }

        using (var file = new FileStream(FilePath, FileMode.Append))
        {
            file.Write(new byte[16]);
        }

        using var reopened = new AheadLog(_directory);
        Assert.Equal(1, reopened.Count);
        Assert.Equal(16, new FileInfo(FilePath).Length);
    }

    [Fact]
    public void Records_a_snapshot_covers_are_dropped_and_a_demoted_record_is_no_longer_live()
    {
        using var log = new AheadLog(_directory);
        log.Add(3, 1);
        log.Add(4, 1);
        log.Add(5, 1);
        Assert.True(log.OnlyLive(1));
        log.Demote(5);
        Assert.False(log.OnlyLive(1));
        log.DropThrough(4);
        Assert.Equal(new AheadLog.Record(5, 1, Live: false), log.First);
        Assert.Equal(new AheadLog.Record(5, 1, Live: false), log.Take(5));
        Assert.Null(log.First);
        Assert.Equal(0, new FileInfo(FilePath).Length);
    }

    [Fact]
    public void Checked_records_are_dropped_from_a_file_past_its_rewrite_size()
    {
        using var log = new AheadLog(_directory, rewriteBytes: 1024);
        for (long i = 1; i <= 500; i++)
        {
            log.Add(i, 1);
            if (i > 1)
            {
                // One record always left unchecked: the file never empties on its own.
                log.Take(i - 1);
            }
        }

        Assert.Equal(1, log.Count);
        Assert.True(new FileInfo(FilePath).Length <= 1024 + 16, $"{new FileInfo(FilePath).Length} bytes");
        Assert.Equal(new AheadLog.Record(500, 1, Live: true), log.Take(500));
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
