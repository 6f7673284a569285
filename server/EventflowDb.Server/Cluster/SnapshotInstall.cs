using System.Diagnostics;
using EventflowDb.Storage;
using NUlid;

namespace EventflowDb.Server.Cluster;

/// <summary>Thrown at start when the store lacks entries the compacted Raft log no longer has: an install is recorded.</summary>
internal sealed class SnapshotInstallRequiredException(string message) : Exception(message);

/// <summary>
/// Installs a copy of another member's store in place of this member's, when the Raft log this member needs was compacted
/// away (it was down or behind too long, its data directory was emptied, its store lost its tail). The need is recorded
/// durably in <c>raft/install</c> (the snapshot's index, its last event id and where copies can be had); the install runs
/// at the start of the service, before the store opens, and is repeated from the start after a crash until it succeeds:
/// the copy is fetched whole into <c>raft/seed-in</c>, then the store's files are replaced by it, then the record is removed.
/// The copy may be newer than the snapshot: the entries after the snapshot are applied to it with the restart rule
/// (an entry whose mark the store already holds is skipped; consumer groups skip the indexes their journal holds).
/// </summary>
internal static class SnapshotInstall
{
    /// <summary>The pending install's record in <c>raft/</c>.</summary>
    public const string FileName = "install";

    private const string IncomingDirectory = "seed-in";

    /// <summary>The Raft index the last installed copy held every entry through (8 bytes, little-endian).</summary>
    private const string CopiedFileName = "copied";

    /// <summary>What a member's data directory holds of the store and its groups (all replaced by an install).</summary>
    private static readonly string[] StoreEntries =
    [
        "log", "index", StoreOpener.SnapshotFileName, StoreOpener.MetaFileName, BackupManifest.FileName, CompactionJournal.FileName,
        "compaction.generation", "consumer-groups.json", "consumer-groups.journal",
    ];

    /// <summary>Copies a member's store (client address) into a directory: the copy's last event id, and the Raft index through which it holds every entry.</summary>
    public delegate Task<(Ulid LastId, long RaftIndex)> Fetch(string address, string targetDirectory, CancellationToken token);

    /// <summary>
    /// Copies with <see cref="SeedFetcher"/> as this member's settings say: <c>--masteruser</c>/<c>--masterauth</c> (else
    /// <c>--password</c>), over TLS with this member's certificate and CA when it has no plaintext port (the members'
    /// announce addresses are then TLS ports), else in plain TCP.
    /// </summary>
    public static Fetch With(Configuration.ServerOptions options, Network.Tls.TlsCertificates tls, Serilog.ILogger logger)
    {
        var credentials = new SeedCredentials(options.MasterUser, options.MasterAuth);
        return async (address, target, token) =>
        {
            var transport = options.Port == 0 && tls.Material is { } material ? SeedTransport.Tls(material) : SeedTransport.Plain;
            var copied = await SeedFetcher.FetchAsync(address, credentials, transport, target, logger, token).ConfigureAwait(false);
            return (copied.LastId, copied.RaftIndex);
        };
    }

    /// <summary>The Raft index the last installed copy held every entry through; 0 without one.</summary>
    public static long CopiedIndex(string raftDirectory)
    {
        string path = Path.Combine(raftDirectory, CopiedFileName);
        if (!File.Exists(path))
        {
            return 0;
        }

        var bytes = File.ReadAllBytes(path);
        return bytes.Length == 8 ? System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(bytes) : 0;
    }

    /// <summary>True when an install is recorded and not yet done.</summary>
    public static bool Pending(string dataDirectory) => File.Exists(Path.Combine(dataDirectory, "raft", FileName));

    /// <summary>
    /// Runs the recorded install, if any: tries each source (never this member) until one gives a copy holding the
    /// snapshot's last event, retrying with a growing pause until <paramref name="token"/> ends.
    /// </summary>
    public static async Task RunPendingAsync(string dataDirectory, string selfAddress, Fetch fetch, Serilog.ILogger logger, CancellationToken token)
    {
        string raft = Path.Combine(dataDirectory, "raft");
        var install = StoreSnapshot.Load(raft, FileName);
        if (install is null)
        {
            return;
        }

        var sources = install.Sources.Where(s => !string.Equals(s, selfAddress, StringComparison.OrdinalIgnoreCase)).ToList();
        logger.Information(
            "Cluster: installing a copy of a member's store (this member lacks Raft entries through {Index}, last event {LastEventId}); sources {Sources}",
            install.Index, install.LastEventId, sources);
        if (sources.Count == 0)
        {
            throw new IOException($"no member's client address is known to copy a store from; start this member with an empty data directory (remove {dataDirectory}) so that the leader sends it the members again");
        }

        string incoming = Path.Combine(raft, IncomingDirectory);
        var clock = Stopwatch.StartNew();
        for (int attempt = 0; ; attempt++)
        {
            foreach (string source in sources)
            {
                try
                {
                    var (last, raftIndex) = await fetch(source, incoming, token).ConfigureAwait(false);
                    if (raftIndex < install.Index || last.CompareTo(install.LastEventId) < 0)
                    {
                        // A member behind the snapshot (its store lacks entries no log keeps any more): not a source.
                        logger.Warning(
                            "Cluster: the store copied from {Source} holds Raft entries through {RaftIndex} (last event {Last}), not yet through the snapshot's {Index} (last event {LastEventId}); trying another member",
                            source, raftIndex, last, install.Index, install.LastEventId);
                        continue;
                    }

                    Replace(dataDirectory, incoming);

                    // The copy may be well past the snapshot: a leader's later snapshot up to here needs no new copy.
                    var copied = new byte[8];
                    System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(copied, raftIndex);
                    AtomicFile.Write(Path.Combine(raft, CopiedFileName), s => s.Write(copied));
                    // The copy holds committed entries only: what this store applied ahead of the majority is gone with it.
                    AheadLog.Delete(raft);
                    File.Delete(Path.Combine(raft, FileName));
                    AtomicFile.SyncDirectory(raft);
                    logger.Information("Cluster: installed the store copied from {Source} (Raft entries through {RaftIndex}, last event {Last}) in {Elapsed:0.0} s", source, raftIndex, last, clock.Elapsed.TotalSeconds);
                    return;
                }
                catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or TimeoutException or UnauthorizedAccessException or InvalidDataException)
                {
                    logger.Warning("Cluster: copying the store of {Source} failed: {Error}", source, e.Message);
                }
            }

            await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(10_000, 500 << Math.Min(attempt, 5))), token).ConfigureAwait(false);
        }
    }

    /// <summary>Replaces the store's files in the data directory by the copy's (a crash midway is repaired by the next run).</summary>
    private static void Replace(string dataDirectory, string incoming)
    {
        var copied = Directory.EnumerateFileSystemEntries(incoming).Select(p => Path.GetFileName(p)).ToList();
        if (copied.Find(n => Array.IndexOf(StoreEntries, n) < 0) is { } foreign)
        {
            throw new InvalidDataException($"the copied store holds '{foreign}', which is no part of a store");
        }

        foreach (string name in StoreEntries)
        {
            string path = Path.Combine(dataDirectory, name);
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
            else
            {
                File.Delete(path);
            }
        }

        foreach (string name in copied)
        {
            if (name == BackupManifest.FileName)
            {
                // The copy's manifest describes the copy, not a data directory.
                continue;
            }

            string from = Path.Combine(incoming, name);
            string to = Path.Combine(dataDirectory, name);
            if (Directory.Exists(from))
            {
                Directory.Move(from, to);
            }
            else
            {
                File.Move(from, to);
            }
        }

        AtomicFile.SyncDirectory(dataDirectory);
    }
}
