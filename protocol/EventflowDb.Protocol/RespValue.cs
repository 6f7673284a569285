using System.Buffers;

namespace EventflowDb.Protocol;

/// <summary>RESP value kinds, RESP2 and RESP3.</summary>
public enum RespType
{
    /// <summary>+</summary>
    SimpleString,
    /// <summary>-</summary>
    Error,
    /// <summary>:</summary>
    Integer,
    /// <summary>$</summary>
    BulkString,
    /// <summary>*</summary>
    Array,
    /// <summary>_ (or $-1 / *-1 in RESP2)</summary>
    Null,
    /// <summary>,</summary>
    Double,
    /// <summary>#</summary>
    Boolean,
    /// <summary>=</summary>
    VerbatimString,
    /// <summary>(</summary>
    BigNumber,
    /// <summary>%</summary>
    Map,
    /// <summary>~</summary>
    Set,
    /// <summary>&gt;</summary>
    Push,
    /// <summary>!</summary>
    BulkError,
    /// <summary>|</summary>
    Attribute,
}

/// <summary>A fully materialised reply value (allocates): for clients and tests, not the server's hot path.</summary>
public sealed class RespValue
{
    /// <summary>Kind.</summary>
    public required RespType Type { get; init; }

    /// <summary>Payload of string-like kinds (simple, error, bulk, verbatim without its format prefix, double and big number text).</summary>
    public byte[]? Bytes { get; init; }

    /// <summary>Integer value, or 1/0 for booleans.</summary>
    public long Integer { get; init; }

    /// <summary>Children of aggregates (map: key, value, key, value...).</summary>
    public IReadOnlyList<RespValue> Items { get; init; } = [];

    /// <summary>The three-letter format of a verbatim string ("txt", "mkd"), else null.</summary>
    public string? Format { get; init; }

    /// <summary>
    /// Key, value, key, value... of the RESP3 attribute (<c>|</c>) that preceded this value on the wire, else empty.
    /// <see cref="TryRead"/> never returns an <see cref="RespType.Attribute"/> value: it reads the attribute
    /// and returns the value the attribute annotates, with the attribute's pairs here.
    /// </summary>
    public IReadOnlyList<RespValue> Attributes { get; init; } = [];

    /// <summary>Payload as UTF-8 text, or null.</summary>
    public string? Text => Bytes is null ? null : System.Text.Encoding.UTF8.GetString(Bytes);

    /// <summary>
    /// Reads one whole value from the start of <paramref name="buffer"/>; false when incomplete. Throws <see cref="FormatException"/> on malformed input.
    /// RESP2 nulls ($-1, *-1) are read as <see cref="RespType.Null"/>. Streamed strings and aggregates ($?, *?) are not supported (FormatException).
    /// </summary>
    public static bool TryRead(in ReadOnlySequence<byte> buffer, out RespValue? value, out SequencePosition consumed)
    {
        var reader = new SequenceReader<byte>(buffer);
        if (RespValueParser.TryParse(ref reader, depth: 0, out value))
        {
            consumed = reader.Position;
            return true;
        }

        value = null;
        consumed = buffer.Start;
        return false;
    }

    /// <summary>Human-readable form for test messages.</summary>
    /// <remarks>
    /// Close to redis-cli: "+OK", "(error) ERR x", "(integer) 5", "\"bulk\"" (bytes outside printable ASCII escaped),
    /// "(nil)", "(double) 1.5", "(true)", "(big number) 12", "[a, b]", "{k: v}", "(set) [a]", "(push) [a]".
    /// Two values with the same form are equal.
    /// </remarks>
    public override string ToString() => RespValueFormatter.Format(this);
}
