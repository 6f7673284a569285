using System.Buffers.Binary;
using EventflowDb.Storage;

namespace EventflowDb.Server.Cluster;

/// <summary>
/// The Raft entries a leader under <c>--replication async</c> applied to its store before a majority committed them
/// (<c>raft/ahead</c>: index and term, 16 bytes each, on disk before the store sees the entry). When such an index is
/// committed, its term says whether the store holds the committed entry (same term) or one the cluster did not keep
/// (another term: the store diverged and only a copy of a member's store repairs it). The records survive a crash: after
/// a restart the same check runs on the entries committed again.
/// </summary>
internal sealed class AheadLog : IDisposable
{
    public const string FileName = "ahead";

    /// <summary>By default the file is rewritten without its checked records once it grows past this.</summary>
    private const long DefaultRewriteBytes = 1 << 20;

    private const int RecordBytes = 16;

    private readonly string _path;
    private readonly long _rewriteBytes;
    private readonly Queue<Record> _records = new();
    private readonly Lock _gate = new();
    private FileStream _file;
    private bool _broken;

    /// <summary>An entry applied ahead: <paramref name="Live"/> when applied by this process (its store write was made now).</summary>
    public readonly record struct Record(long Index, long Term, bool Live);

    /// <param name="raftDirectory">Where <c>ahead</c> is kept.</param>
    /// <param name="rewriteBytes">The size past which checked records are dropped from the file.</param>
    public AheadLog(string raftDirectory, long rewriteBytes = DefaultRewriteBytes)
    {
        _rewriteBytes = rewriteBytes;
        _path = Path.Combine(raftDirectory, FileName);
        _file = new FileStream(_path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        Span<byte> bytes = stackalloc byte[RecordBytes];
        while (_file.Read(bytes) == RecordBytes)
        {
            long index = BinaryPrimitives.ReadInt64LittleEndian(bytes);
            long term = BinaryPrimitives.ReadInt64LittleEndian(bytes[8..]);
            if (index <= 0 || index <= _highestIndex)
            {
                // A torn tail (zeros) or a record out of order: nothing after it was written whole.
                break;
            }

            _records.Enqueue(new Record(index, term, Live: false));
            _highestIndex = index;
        }

        // Appends go after the last whole record.
        _file.SetLength(_records.Count * (long)RecordBytes);
        _file.Position = _file.Length;
    }

    // Read from other threads (INFO, SEED, the no-op check, compaction): every member takes the lock.

    /// <summary>Records not yet checked against the committed log.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _records.Count;
            }
        }
    }

    /// <summary>The lowest unchecked index (long.MaxValue without one).</summary>
    public long LowestIndex
    {
        get
        {
            lock (_gate)
            {
                return _records.Count > 0 ? _records.Peek().Index : long.MaxValue;
            }
        }
    }

    /// <summary>The highest index applied ahead (0 without one).</summary>
    public long HighestIndex
    {
        get
        {
            lock (_gate)
            {
                return _highestIndex;
            }
        }
    }

    private long _highestIndex;

    /// <summary>True when every unchecked record was made by this process in <paramref name="term"/>.</summary>
    public bool OnlyLive(long term)
    {
        lock (_gate)
        {
            return _records.All(r => r.Live && r.Term == term);
        }
    }

    /// <summary>Records entry <paramref name="index"/> of <paramref name="term"/> durably, before its write reaches the store.</summary>
    public void Add(long index, long term)
    {
        lock (_gate)
        {
            if (_broken)
            {
                throw new IOException($"{_path} could not be reopened after a rewrite: entries are no longer applied ahead");
            }

            Span<byte> bytes = stackalloc byte[RecordBytes];
            BinaryPrimitives.WriteInt64LittleEndian(bytes, index);
            BinaryPrimitives.WriteInt64LittleEndian(bytes[8..], term);
            long at = _file.Position;
            try
            {
                _file.Write(bytes);
                _file.Flush(flushToDisk: true);
            }
            catch (IOException)
            {
                // Not recorded (the entry is then not applied ahead): no half record stays for the next one to follow.
                _file.SetLength(at);
                _file.Position = at;
                throw;
            }

            _records.Enqueue(new Record(index, term, Live: true));
            _highestIndex = index;
        }
    }

    /// <summary>The lowest unchecked record (null without one).</summary>
    public Record? First
    {
        get
        {
            lock (_gate)
            {
                return _records.Count > 0 ? _records.Peek() : null;
            }
        }
    }

    /// <summary>
    /// The record of <paramref name="index"/>, removed with every record below it. The caller checks first that none is
    /// below: entries are committed in log order, so one left below was committed as an entry without payload.
    /// </summary>
    public Record? Take(long index)
    {
        lock (_gate)
        {
            return TakeLocked(index);
        }
    }

    private Record? TakeLocked(long index)
    {
        Record? found = null;
        while (_records.Count > 0 && _records.Peek().Index <= index)
        {
            var record = _records.Dequeue();
            if (record.Index == index)
            {
                found = record;
            }
        }

        Trim();
        return found;
    }

    /// <summary>Drops the records through <paramref name="index"/> without checking them (a snapshot covers them: checked before it was taken).</summary>
    public void DropThrough(long index)
    {
        lock (_gate)
        {
            DropLocked(index);
        }
    }

    private void DropLocked(long index)
    {
        while (_records.Count > 0 && _records.Peek().Index <= index)
        {
            _records.Dequeue();
        }

        Trim();
    }

    /// <summary>
    /// The entry of <paramref name="index"/> was recorded but not applied ahead after all: at its commit the restart rule
    /// decides (the store may or may not hold part of it).
    /// </summary>
    public void Demote(long index)
    {
        lock (_gate)
        {
            DemoteLocked(index);
        }
    }

    private void DemoteLocked(long index)
    {
        var records = _records.ToArray();
        _records.Clear();
        foreach (var record in records)
        {
            _records.Enqueue(record.Index == index ? record with { Live = false } : record);
        }
    }

    /// <summary>
    /// Keeps the file from growing with checked records. Best effort: a failure leaves checked records in the file, which
    /// a restart checks again (with the same outcome) or drops (below the snapshot).
    /// </summary>
    private void Trim()
    {
        try
        {
            if (_records.Count == 0 && _file.Length > 0)
            {
                _file.SetLength(0);
                _file.Position = 0;
                _file.Flush(flushToDisk: true);
            }
            else if (_file.Length > _rewriteBytes)
            {
                Rewrite();
            }
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Removes the file of a directory whose store was replaced by a copy (the copy holds only committed entries).</summary>
    public static void Delete(string raftDirectory) => File.Delete(Path.Combine(raftDirectory, FileName));

    private void Rewrite()
    {
        var bytes = new byte[_records.Count * RecordBytes];
        int at = 0;
        foreach (var record in _records)
        {
            BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(at), record.Index);
            BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(at + 8), record.Term);
            at += RecordBytes;
        }

        string next = _path + ".new";
        using (var file = new FileStream(next, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            file.Write(bytes);
            file.Flush(flushToDisk: true);
        }

        // A failure before the move leaves the old file and stream as they were. After it, the old stream writes to an
        // unlinked file: reopened at once, or nothing more is applied ahead (Add refuses).
        File.Move(next, _path, overwrite: true);
        try
        {
            var reopened = new FileStream(_path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
            _file.Dispose();
            _file = reopened;
            _file.Position = _file.Length;
        }
        catch (IOException)
        {
            _broken = true;
            throw;
        }

        AtomicFile.SyncDirectory(Path.GetDirectoryName(_path)!);
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _file.Dispose();
        }
    }
}
