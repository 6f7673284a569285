using System.Globalization;
using System.Text;
using EventflowDb.Protocol;

namespace EventflowDb.Tests.Harness;

/// <summary>Helpers over <see cref="RespValue"/> for assertions and messages.</summary>
public static class RespText
{
    /// <summary>A readable one-line rendering that shortens long payloads.</summary>
    public static string Describe(RespValue? value)
    {
        if (value is null)
        {
            return "(none)";
        }

        var sb = new StringBuilder();
        Write(sb, value, 0);
        return sb.ToString();
    }

    /// <summary>True for error replies (simple or bulk).</summary>
    public static bool IsError(this RespValue value) => value.Type is RespType.Error or RespType.BulkError;

    /// <summary>Text of a string-like reply; fails for other kinds.</summary>
    public static string Str(this RespValue value) =>
        value.Type is RespType.SimpleString or RespType.BulkString or RespType.VerbatimString
            ? value.Text!
            : throw new InvalidOperationException($"expected a string reply, got {Describe(value)}");

    /// <summary>Integer of an integer reply; fails for other kinds.</summary>
    public static long Int(this RespValue value) =>
        value.Type == RespType.Integer ? value.Integer : throw new InvalidOperationException($"expected an integer reply, got {Describe(value)}");

    /// <summary>Items of an array reply; fails for other kinds.</summary>
    public static IReadOnlyList<RespValue> Arr(this RespValue value) =>
        value.Type is RespType.Array or RespType.Set ? value.Items : throw new InvalidOperationException($"expected an array reply, got {Describe(value)}");

    /// <summary>The strings of an array of bulk strings.</summary>
    public static IReadOnlyList<string> Strings(this RespValue value) => [.. value.Arr().Select(i => i.Str())];

    private static void Write(StringBuilder sb, RespValue value, int depth)
    {
        switch (value.Type)
        {
            case RespType.Array or RespType.Map or RespType.Set or RespType.Push:
                sb.Append(value.Type).Append('[');
                for (int i = 0; i < value.Items.Count; i++)
                {
                    if (i > 0)
                    {
                        sb.Append(", ");
                    }

                    if (i >= 50)
                    {
                        sb.Append(CultureInfo.InvariantCulture, $"... {value.Items.Count - 50} more");
                        break;
                    }

                    Write(sb, value.Items[i], depth + 1);
                }

                sb.Append(']');
                break;
            case RespType.Integer or RespType.Boolean:
                sb.Append(value.Type).Append(' ').Append(value.Integer);
                break;
            case RespType.Null:
                sb.Append("(nil)");
                break;
            default:
                string text = value.Text ?? "";
                if (text.Length > 300)
                {
                    text = string.Concat(text.AsSpan(0, 300), "...");
                }

                sb.Append(value.Type).Append(" \"").Append(text).Append('"');
                break;
        }
    }
}
