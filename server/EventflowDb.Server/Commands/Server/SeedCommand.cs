using System.Buffers;
using EventflowDb.Protocol;
using EventflowDb.Server.Cluster;
using EventflowDb.Server.Commands.Events;
using EventflowDb.Server.Network;
using EventflowDb.Server.Security;
using EventflowDb.Storage;
using NUlid;

namespace EventflowDb.Server.Commands.Server;

/// <summary>
/// SEED (cluster members only, @admin and read rights on every stream): serves a consistent copy of this member's whole store to a member that must
/// rebuild its own (a Raft InstallSnapshot carries only metadata; the store comes out of band, <see cref="SeedFetcher"/>).
/// <list type="bullet">
/// <item><c>SEED BEGIN</c>: copies the store (the BACKUP mechanism) and then the consumer groups' files into
/// <c>&lt;data&gt;/raft/seed-out</c>, and replies <c>[id, last event id, checksum (16 hex digits, as CHECKSUM),
/// events, Raft index (every entry through it is in the copy), path, size, path, size, ...]</c>; paths are relative to that directory with '/' separators.</item>
/// <item><c>SEED READ id path offset</c>: at most <see cref="ChunkBytes"/> of a listed file from offset (an empty bulk
/// string at its end). Only the exact paths of the current copy's list are served.</item>
/// <item><c>SEED END id</c>: the copy is no longer in use (its files stay, so the next BEGIN copies only what changed).</item>
/// </list>
/// One copy at a time: it is rewritten by the next BEGIN, so a BEGIN is refused (busy) while the current copy is in use:
/// not ENDed and read within the last <see cref="IdleAfter"/>, or a READ in flight. A copy idle that long is taken to be
/// abandoned (its reader died) and replaced; its id is then unknown, so a late READ of it fails instead of reading files
/// being rewritten. A refused BEGIN is retried by the fetching member later.
/// </summary>
internal sealed class SeedCommand() : Command("SEED", -2)
{
    /// <summary>The largest READ reply (1 MiB): the fetcher refuses longer bulk strings.</summary>
    public const int ChunkBytes = 1 << 20;

    /// <summary>
    /// How long this member keeps its Raft log from being compacted, counted from the start of a BEGIN, from the end of
    /// its copy, and from each READ or END.
    /// </summary>
    public static readonly TimeSpan CompactionHold = TimeSpan.FromMinutes(2);

    /// <summary>A copy not read for this long (and not ENDed) is abandoned: the next BEGIN may replace it.</summary>
    public static readonly TimeSpan IdleAfter = TimeSpan.FromSeconds(60);

    private readonly Lock _lock = new();
    private Copy? _current;
    private bool _beginning;

    private const string AheadRefusal = "SEED refused: this member applied writes ahead of the majority (--replication async leader); copy another member";

    /// <summary>The copy's directory: inside the Raft directory, which no backup reads and the store never uses.</summary>
    public static string DirectoryOf(string dataDirectory) => Path.Combine(Path.GetFullPath(dataDirectory), "raft", "seed-out");

    public override async ValueTask ExecuteAsync(ClientSession session, RespRequest request)
    {
        if (session.Store is not ReplicatedEventStore replicated)
        {
            throw CommandException.Syntax("SEED is only served by cluster members");
        }

        // The copy holds every stream: only a user whose read patterns cover all streams may take it (SPEC).
        StreamPermissions.CheckReadsAll(session, "*");

        if (request.EqualsIgnoreCase(1, "BEGIN"u8) && request.Count == 2)
        {
            await BeginAsync(session, replicated).ConfigureAwait(false);
        }
        else if (request.EqualsIgnoreCase(1, "READ"u8) && request.Count == 5)
        {
            await ReadAsync(session, request).ConfigureAwait(false);
        }
        else if (request.EqualsIgnoreCase(1, "END"u8) && request.Count == 3)
        {
            End(session, request.GetString(2));
        }
        else
        {
            throw CommandException.Syntax("SEED BEGIN | SEED READ <id> <path> <offset> | SEED END <id>");
        }
    }

    private async Task BeginAsync(ClientSession session, ReplicatedEventStore replicated)
    {
        // An async leader's store runs ahead of the commit: a copy of it could hold writes the cluster never keeps.
        long aheadBefore = replicated.Node.AheadHighestIndex;
        if (replicated.Node.AheadEntries > 0)
        {
            throw CommandException.Syntax(AheadRefusal);
        }

        lock (_lock)
        {
            if (_beginning || _current is { } copy && (copy.Reads > 0 || Environment.TickCount64 - copy.LastUse < (long)IdleAfter.TotalMilliseconds))
            {
                throw CommandException.Syntax("SEED busy: another member is reading this member's copy; try again later");
            }

            // From here the old copy's id is unknown: no READ starts on files about to be rewritten.
            _current = null;
            _beginning = true;
        }

        try
        {
            var store = replicated.Inner as FasterEventStore
                ?? throw new IOException("this member's store cannot be copied");
            string directory = DirectoryOf(session.Server.Options.DataDirectory);
            Directory.CreateDirectory(directory);
            BackupResult backup;
            long groupBytes;

            // Read before the copy: the copy holds at least every entry through it (a lower bound, for the installer).
            // This member keeps the entries after it meanwhile (no compaction), for the member that installs the copy.
            replicated.Node.HoldCompaction(CompactionHold);
            long raftIndex = replicated.Node.DurableIndex;
            try
            {
                // The store first, then the groups (so they may be slightly newer; applying later Raft entries skips what
                // each already holds). The groups are copied under their state lock: see GroupJournal.CopyTo.
                backup = await store.BackupWithinAsync(directory, session.Closing).ConfigureAwait(false);
                groupBytes = await replicated.Node.Groups.Registry.CopyFilesAsync(directory).ConfigureAwait(false);
                AtomicFile.SyncDirectory(directory);

                // A long copy may outlast the hold taken before it: the installer still needs the entries after raftIndex.
                replicated.Node.HoldCompaction(CompactionHold);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                session.Server.Logger.Warning("Seed copy requested by client {ClientId} {Remote} failed: {Error}", session.Id, session.Remote, e.Message);
                throw CommandException.Syntax($"seed failed: {e.Message}");
            }

            if (replicated.Node.AheadHighestIndex != aheadBefore)
            {
                throw CommandException.Syntax(AheadRefusal);
            }

            var files = List(directory);
            var copy = new Copy(Ulid.NewUlid().ToString(), directory, files) { LastUse = Environment.TickCount64 };
            lock (_lock)
            {
                _current = copy;
            }

            session.Server.Logger.Information(
                "Seed {SeedId} begun for client {ClientId} {Remote}: {Events} events up to {LastId}, {Files} files, {Bytes} bytes ({Copied} copied)",
                copy.Id, session.Id, session.Remote, backup.Events, backup.LastId, files.Count, files.Sum(f => f.Value), backup.BytesCopied + groupBytes);

            var writer = session.Writer;
            writer.WriteArrayHeader(5 + (2 * files.Count));
            writer.WriteBulkString(copy.Id);
            writer.WriteBulkString(backup.LastId.ToString());
            writer.WriteBulkString(ChecksumCommand.Hex(backup.Checksum.Value));
            writer.WriteInteger(backup.Events);
            writer.WriteInteger(raftIndex);
            foreach (var (path, size) in files)
            {
                writer.WriteBulkString(path);
                writer.WriteInteger(size);
            }
        }
        finally
        {
            lock (_lock)
            {
                _beginning = false;
            }
        }
    }

    private async Task ReadAsync(ClientSession session, RespRequest request)
    {
        if (!request.TryGetInt64(4, out long offset) || offset < 0)
        {
            throw CommandException.Syntax($"SEED READ offset must be a non-negative integer, not '{ErrorText.Excerpt(request[4])}'");
        }

        string id = request.GetString(2);
        string path = request.GetString(3);
        Copy copy;
        long size;
        lock (_lock)
        {
            if (_current is not { } current || current.Id != id)
            {
                throw CommandException.Syntax($"no seed '{ErrorText.Excerpt(id)}' (ended, replaced or never begun)");
            }

            // Exact membership in the list: no other file of the machine can be named (no '..', no absolute path).
            if (!current.Files.TryGetValue(path, out size))
            {
                throw CommandException.Syntax($"'{ErrorText.Excerpt(path)}' is not a file of seed {id}");
            }

            if (offset > size)
            {
                throw CommandException.Syntax($"SEED READ offset {offset} is past the end of '{ErrorText.Excerpt(path)}' ({size} bytes)");
            }

            copy = current;
            copy.Reads++;
            copy.LastUse = Environment.TickCount64;
        }

        ((ReplicatedEventStore)session.Store).Node.HoldCompaction(CompactionHold);

        // Bounded by the listed size and the chunk, never by what the client asks.
        int length = (int)Math.Min(ChunkBytes, size - offset);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Max(1, length));
        try
        {
            int filled = 0;
            try
            {
                using var handle = File.OpenHandle(Path.Combine(copy.Directory, path.Replace('/', Path.DirectorySeparatorChar)), FileMode.Open, FileAccess.Read, FileShare.Read);
                while (filled < length)
                {
                    int read = await RandomAccess.ReadAsync(handle, buffer.AsMemory(filled, length - filled), offset + filled, session.Closing).ConfigureAwait(false);
                    if (read == 0)
                    {
                        break;
                    }

                    filled += read;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                session.Server.Logger.Warning("Seed {SeedId}: reading {File} for client {ClientId} {Remote} failed: {Error}", id, path, session.Id, session.Remote, e.Message);
                throw CommandException.Syntax($"seed read failed: {e.Message}");
            }

            if (filled < length)
            {
                session.Server.Logger.Warning("Seed {SeedId}: {File} is shorter than listed ({Size} bytes)", id, path, size);
                throw CommandException.Syntax($"seed read failed: '{ErrorText.Excerpt(path)}' is shorter than listed");
            }

            session.Writer.WriteBulkString(buffer.AsSpan(0, filled));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            lock (_lock)
            {
                copy.Reads--;
                copy.LastUse = Environment.TickCount64;
            }
        }
    }

    private void End(ClientSession session, string id)
    {
        lock (_lock)
        {
            if (_current is not { } current || current.Id != id)
            {
                throw CommandException.Syntax($"no seed '{ErrorText.Excerpt(id)}' (ended, replaced or never begun)");
            }

            _current = null;
        }

        // The member that copied restarts and asks the leader for the entries after its copy: keep them a while.
        ((ReplicatedEventStore)session.Store).Node.HoldCompaction(CompactionHold);
        session.Server.Logger.Information("Seed {SeedId} ended by client {ClientId} {Remote}", id, session.Id, session.Remote);
        session.Writer.WriteOk();
    }

    /// <summary>Every file of the copy but the backup's manifest (it describes the copy, not the data directory), in path order.</summary>
    private static SortedDictionary<string, long> List(string directory)
    {
        var files = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var file in new DirectoryInfo(directory).EnumerateFiles("*", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(directory, file.FullName).Replace(Path.DirectorySeparatorChar, '/');
            if (relative is not (BackupManifest.FileName or BackupManifest.FileName + ".tmp"))
            {
                files.Add(relative, file.Length);
            }
        }

        return files;
    }

    /// <summary>One copy: its id, its files and sizes, and its use (guarded by the command's lock).</summary>
    private sealed class Copy(string id, string directory, SortedDictionary<string, long> files)
    {
        public string Id { get; } = id;

        public string Directory { get; } = directory;

        public SortedDictionary<string, long> Files { get; } = files;

        public int Reads { get; set; }

        public long LastUse { get; set; }
    }
}
