using System.Buffers;
using System.Text.Json;

namespace EventflowDb.Server.Groups;

/// <summary>
/// The consumer groups' write-ahead journal: every change is one JSON line appended to
/// <c>consumer-groups.journal</c> and fsynced before the change is applied (and so before the reply). When the
/// journal passes <see cref="DefaultCompactBytes"/> (by default), the state is written as a snapshot (<see cref="GroupStateFile"/>)
/// and the journal emptied. Recovery loads the snapshot, then replays the records newer than it; a torn last
/// line (a crash in the middle of an append) is cut off, since its change was never acknowledged.
/// </summary>
internal sealed class GroupJournal : IDisposable
{
    public const string FileName = "consumer-groups.journal";
    /// <summary>Journal size past which the next append first compacts it into a snapshot.</summary>
    public const long DefaultCompactBytes = 4 * 1024 * 1024;

    private readonly long _compactBytes;
    private readonly GroupStateFile _snapshot;
    private readonly FileStream _log;
    private readonly ArrayBufferWriter<byte> _buffer = new();
    private long _seq;

    private GroupJournal(GroupStateFile snapshot, FileStream log, long seq, long raft, long compactBytes)
    {
        _compactBytes = compactBytes;
        _snapshot = snapshot;
        _log = log;
        _seq = seq;
        LastRaftIndex = raft;
    }

    /// <summary>
    /// In a cluster, the index of the last Raft entry whose record is durable here (in the journal or the snapshot):
    /// a restart that replays the Raft log skips the group entries at or below it.
    /// </summary>
    public long LastRaftIndex { get; private set; }

    /// <summary>Opens (creating when missing) the journal in <paramref name="dataDirectory"/> and rebuilds the groups.</summary>
    public static (GroupJournal Journal, Dictionary<string, ConsumerGroup> Groups) Open(string dataDirectory, long now, long compactBytes = DefaultCompactBytes)
    {
        var snapshot = new GroupStateFile(dataDirectory);
        var (loaded, seq, raft) = snapshot.Load(now);
        var groups = loaded.ToDictionary(g => g.Name, StringComparer.Ordinal);
        // Unbuffered: every append is flushed at once anyway, and a failed write must leave no bytes behind in a buffer
        // (they would be written before the next record, or fail the close).
        var log = new FileStream(Path.Combine(dataDirectory, FileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read, bufferSize: 0);
        try
        {
            byte[] bytes = new byte[log.Length];
            log.ReadExactly(bytes);
            int start = 0;
            while (start < bytes.Length)
            {
                int newline = Array.IndexOf(bytes, (byte)'\n', start);
                GroupRecord? record = newline < 0 ? null : TryParse(bytes.AsMemory(start, newline - start));
                if (record is null)
                {
                    if (newline >= 0 && newline + 1 < bytes.Length)
                    {
                        throw new InvalidDataException($"{log.Name}: corrupt record at byte {start}");
                    }

                    break; // torn last record: never acknowledged
                }

                if (record.Seq > seq)
                {
                    record.Apply(groups, now);
                    seq = record.Seq;
                    raft = Math.Max(raft, record.Raft);
                }

                start = newline + 1;
            }

            log.SetLength(start);
            log.Position = start;
            log.Flush(flushToDisk: true);
        }
        catch
        {
            log.Dispose();
            throw;
        }

        // The consumers that read the pending events did not survive the restart: they are all due now.
        foreach (var pending in groups.Values.SelectMany(g => g.Pending.Values))
        {
            pending.DeadlineMs = now;
        }

        return (new GroupJournal(snapshot, log, seq, raft, compactBytes), groups);
    }

    /// <summary>Makes <paramref name="record"/> durable (numbering it), compacting first when the journal is large.</summary>
    public void Append(GroupRecord record, IEnumerable<ConsumerGroup> groups)
    {
        if (_log.Length >= _compactBytes)
        {
            _snapshot.Save(groups, _seq, LastRaftIndex);
            _log.SetLength(0);
            _log.Position = 0;
            _log.Flush(flushToDisk: true);
        }

        record.Seq = _seq + 1;
        _buffer.ResetWrittenCount();
        using (var json = new Utf8JsonWriter(_buffer))
        {
            record.Write(json);
        }

        _buffer.Write("\n"u8);
        long at = _log.Position;
        try
        {
            _log.Write(_buffer.WrittenSpan);
            _log.Flush(flushToDisk: true);
        }
        catch (IOException)
        {
            // A disk full midway: no part of the record may stay, or the next record would follow a torn line and the
            // journal would not open again.
            _log.SetLength(at);
            _log.Position = at;
            throw;
        }

        _seq = record.Seq;
        LastRaftIndex = Math.Max(LastRaftIndex, record.Raft);
    }

    /// <summary>
    /// Copies the snapshot (when there is one) and the journal into <paramref name="directory"/>, fsynced, so that
    /// <see cref="Open"/> there rebuilds the groups as they are now; returns the bytes copied. The caller holds the lock
    /// under which every <see cref="Append"/> (and its compaction) runs, so neither file changes meanwhile: a copy
    /// taken without it could pair an old snapshot with a journal emptied by a later compaction, losing records.
    /// A snapshot missing here is removed there too (a copy made earlier into the same directory must not stay).
    /// </summary>
    public long CopyTo(string directory)
    {
        long bytes = 0;
        string snapshotCopy = Path.Combine(directory, GroupStateFile.FileName);
        if (File.Exists(_snapshot.FilePath))
        {
            File.Copy(_snapshot.FilePath, snapshotCopy, overwrite: true);
            bytes += new FileInfo(snapshotCopy).Length;
            using var synced = new FileStream(snapshotCopy, FileMode.Open, FileAccess.ReadWrite);
            synced.Flush(flushToDisk: true);
        }
        else
        {
            File.Delete(snapshotCopy);
        }

        // Through our own handle: the file is ours (opened without write sharing), and its length is what was appended.
        _log.Flush();
        long length = _log.Length;
        using (var copy = new FileStream(Path.Combine(directory, FileName), FileMode.Create, FileAccess.Write, FileShare.None))
        using (var read = new FileStream(_log.Name, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
        {
            bytes += Storage.StreamCopy.Prefix(read, copy, length, new byte[81920]);

            copy.Flush(flushToDisk: true);
        }

        return bytes;
    }

    public void Dispose() => _log.Dispose();

    private static GroupRecord? TryParse(ReadOnlyMemory<byte> line)
    {
        try
        {
            using var document = JsonDocument.Parse(line);
            return GroupRecord.Read(document.RootElement);
        }
        catch (Exception e) when (e is JsonException or FormatException or KeyNotFoundException or ArgumentException or InvalidOperationException)
        {
            return null;
        }
    }
}
