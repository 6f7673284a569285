using System.Text.Json;
using EventflowDb.Server.Subscriptions;
using NUlid;

namespace EventflowDb.Server.Groups;

/// <summary>
/// The snapshot of every consumer group, one JSON file under the data directory, with the sequence number of
/// the last journal record it includes (<see cref="GroupJournal"/>). Written to a temporary file, flushed to
/// disk (fsync), then renamed over the old one, so a crash at any point leaves the old or the new snapshot,
/// never a torn one. Ack deadlines are not stored.
/// </summary>
internal sealed class GroupStateFile(string dataDirectory)
{
    public const string FileName = "consumer-groups.json";

    private readonly string _path = Path.Combine(dataDirectory, FileName);
    private readonly string _temporary = Path.Combine(dataDirectory, FileName + ".tmp");

    /// <summary>The snapshot's file (it may not exist yet).</summary>
    public string FilePath => _path;

    public void Save(IEnumerable<ConsumerGroup> groups, long seq, long raft = 0)
    {
        using (var file = new FileStream(_temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            using (var json = new Utf8JsonWriter(file))
            {
                json.WriteStartObject();
                json.WriteNumber("seq", seq);
                if (raft > 0)
                {
                    json.WriteNumber("raft", raft);
                }

                json.WriteStartArray("groups");
                foreach (var group in groups)
                {
                    Write(json, group);
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }

            file.Flush(flushToDisk: true);
        }

        File.Move(_temporary, _path, overwrite: true);
    }

    /// <summary>
    /// The groups of the snapshot (none when there is no snapshot), the last journal record it includes and, in a
    /// cluster, the index of the last Raft entry it includes.
    /// </summary>
    public (List<ConsumerGroup> Groups, long Seq, long Raft) Load(long now)
    {
        var groups = new List<ConsumerGroup>();
        if (!File.Exists(_path))
        {
            return (groups, 0, 0);
        }

        using var document = JsonDocument.Parse(File.ReadAllBytes(_path));
        foreach (var element in document.RootElement.GetProperty("groups").EnumerateArray())
        {
            string channel = element.GetProperty("channel").GetString()!;
            var group = new ConsumerGroup(
                element.GetProperty("name").GetString()!,
                channel,
                EventChannels.ForChannel(channel) ?? throw new InvalidDataException($"bad channel {channel} in {_path}"),
                Ulid.Parse(element.GetProperty("position").GetString()),
                element.GetProperty("ackTimeoutMs").GetInt64(),
                element.GetProperty("maxDeliveries").GetInt32());
            foreach (var consumer in element.GetProperty("consumers").EnumerateArray())
            {
                group.Consumers.Add(consumer.GetString()!);
            }

            foreach (var pending in element.GetProperty("pending").EnumerateArray())
            {
                group.Pending[Ulid.Parse(pending.GetProperty("id").GetString())] =
                    new PendingEvent(pending.GetProperty("deliveries").GetInt32(), now, pending.GetProperty("consumer").GetString()!);
            }

            foreach (var parked in element.GetProperty("parked").EnumerateArray())
            {
                group.Parked.Add(Ulid.Parse(parked.GetString()));
            }

            groups.Add(group);
        }

        long raft = document.RootElement.TryGetProperty("raft", out var index) ? index.GetInt64() : 0;
        return (groups, document.RootElement.GetProperty("seq").GetInt64(), raft);
    }

    private static void Write(Utf8JsonWriter json, ConsumerGroup group)
    {
        json.WriteStartObject();
        json.WriteString("name", group.Name);
        json.WriteString("channel", group.Channel);
        json.WriteString("position", group.Position.ToString());
        json.WriteNumber("ackTimeoutMs", group.AckTimeoutMs);
        json.WriteNumber("maxDeliveries", group.MaxDeliveries);
        json.WriteStartArray("consumers");
        foreach (string consumer in group.Consumers)
        {
            json.WriteStringValue(consumer);
        }

        json.WriteEndArray();
        json.WriteStartArray("pending");
        foreach (var (id, pending) in group.Pending)
        {
            json.WriteStartObject();
            json.WriteString("id", id.ToString());
            json.WriteNumber("deliveries", pending.Deliveries);
            json.WriteString("consumer", pending.Consumer);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStartArray("parked");
        foreach (var id in group.Parked)
        {
            json.WriteStringValue(id.ToString());
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }
}
