using System.Text.Json;

namespace EventflowDb.Storage;

/// <summary>
/// <c>backup.json</c> in a backup directory: what the last BACKUP into it copied. Written last, after every file is
/// durable, and removed first when a new BACKUP starts, so a directory holding it is a complete backup.
/// <c>compaction_generation</c> is the store's <see cref="Storage.CompactionGeneration"/> when it was copied (null: none).
/// </summary>
internal sealed record BackupManifest(
    string Source,
    long EndAddress,
    int SegmentSizeBits,
    long Events,
    string LastId,
    ulong Checksum,
    DateTimeOffset CreatedAt,
    string? CompactionGeneration = null)
{
    public const string FileName = "backup.json";

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    /// <summary>The manifest in <paramref name="directory"/>, or null when there is none or it cannot be read.</summary>
    public static BackupManifest? TryRead(string directory)
    {
        string path = Path.Combine(directory, FileName);
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize<BackupManifest>(File.ReadAllBytes(path), Json) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public void Write(string directory) =>
        AtomicFile.Write(Path.Combine(directory, FileName), stream => JsonSerializer.Serialize(stream, this, Json));
}
