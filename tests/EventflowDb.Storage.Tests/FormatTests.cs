using System.Text;
using System.Text.Json;
using EventflowDb.Storage;
using NUlid;

namespace EventflowDb.Storage.Tests;

public sealed class FormatTests
{
    [Fact]
    public void Timestamps_match_the_round_trip_format_of_DateTime()
    {
        // The epoch, leap days, year and month ends, the last millisecond of a second, and random instants up to year 9999.
        var instants = new List<long> { 0, 951_782_400_000, 951_868_799_999, 1_704_067_199_999, 1_795_000_000_123, 253_402_300_799_999 };
        var random = new Random(42);
        for (int i = 0; i < 10_000; i++)
        {
            instants.Add(random.NextInt64(0, 253_402_300_800_000));
        }

        var text = new byte[EventJsonWriter.TimestampLength];
        foreach (long ms in instants)
        {
            EventJsonWriter.FormatTimestamp(ms, text);
            string expected = DateTime.UnixEpoch.AddMilliseconds(ms).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(expected, Encoding.ASCII.GetString(text));
        }
    }

    [Fact]
    public void Ulid_codec_matches_NUlid_bytes_and_strings()
    {
        for (int i = 0; i < 1000; i++)
        {
            var ulid = Ulid.NewUlid();
            var id = UlidCodec.FromUlid(ulid);
            var text = new byte[26];
            UlidCodec.WriteString(id, text);
            Assert.Equal(ulid.ToString(), Encoding.ASCII.GetString(text));
            Assert.Equal(ulid, UlidCodec.ToUlid(id));
            Assert.Equal(ulid.Time.ToUnixTimeMilliseconds(), UlidCodec.TimestampMs(id));
        }
    }

    [Fact]
    public void Generator_is_strictly_monotonic_within_and_across_milliseconds_and_clock_steps()
    {
        var generator = new UlidGenerator(UInt128.Zero);
        var previous = UInt128.Zero;
        long ms = 1_700_000_000_000;
        foreach (long step in new long[] { 0, 0, 0, 1, 0, -5, 0, 3, 0 })
        {
            ms += step;
            for (int i = 0; i < 1000; i++)
            {
                var id = generator.Next(ms);
                Assert.True(id > previous);
                previous = id;
            }
        }
    }

    [Fact]
    public void Strings_are_escaped_into_valid_json()
    {
        string weird = "q\"b\\s/\n\r\t\u0001\u001f é 🚀 end";
        var buffer = new ByteBuffer(16);
        EventJsonWriter.WriteString(buffer, weird);
        Assert.Equal(weird, JsonDocument.Parse(buffer.WrittenSpan.ToArray()).RootElement.GetString());

        buffer.Clear();
        EventJsonWriter.WriteTimestamp(buffer, 1_795_467_117_123);
        Assert.Equal("\"2026-11-23T20:51:57.123Z\"", Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    [Fact]
    public void Entry_validation_catches_any_flipped_bit()
    {
        var bytes = new byte[LogEntryFormat.HeaderSize + 1 + LogEntryFormat.EventSize(2, 3)];
        bytes[LogEntryFormat.HeaderSize] = (byte)'s';
        LogEntryFormat.WriteHeader(bytes, 1, 1, 0, 0, 0, 0, 1);
        LogEntryFormat.WriteEvent(bytes.AsSpan(LogEntryFormat.HeaderSize + 1), 42, "m1"u8, "123"u8);
        LogEntryFormat.Seal(bytes);
        Assert.Null(LogEntryFormat.Validate(bytes));
        for (int i = 0; i < bytes.Length * 8; i++)
        {
            bytes[i / 8] ^= (byte)(1 << (i % 8));
            Assert.NotNull(LogEntryFormat.Validate(bytes));
            bytes[i / 8] ^= (byte)(1 << (i % 8));
        }
    }
}
