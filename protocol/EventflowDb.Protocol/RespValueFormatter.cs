using System.Text;

namespace EventflowDb.Protocol;

/// <summary>The readable form of <see cref="RespValue.ToString"/>.</summary>
internal static class RespValueFormatter
{
    public static string Format(RespValue value)
    {
        var text = new StringBuilder();
        Append(text, value);
        return text.ToString();
    }

    private static void Append(StringBuilder text, RespValue value)
    {
        if (value.Attributes.Count > 0)
        {
            text.Append("(attributes) ");
            AppendItems(text, value.Attributes, "{", "}", pairs: true);
            text.Append(' ');
        }

        switch (value.Type)
        {
            case RespType.SimpleString:
                text.Append('+');
                AppendBytes(text, value.Bytes, quoted: false);
                break;
            case RespType.Error:
                text.Append("(error) ");
                AppendBytes(text, value.Bytes, quoted: false);
                break;
            case RespType.BulkError:
                text.Append("(bulk error) ");
                AppendBytes(text, value.Bytes, quoted: true);
                break;
            case RespType.Integer:
                text.Append("(integer) ").Append(value.Integer);
                break;
            case RespType.BulkString:
                AppendBytes(text, value.Bytes, quoted: true);
                break;
            case RespType.VerbatimString:
                text.Append("(verbatim ").Append(value.Format).Append(") ");
                AppendBytes(text, value.Bytes, quoted: true);
                break;
            case RespType.Null:
                text.Append("(nil)");
                break;
            case RespType.Double:
                text.Append("(double) ");
                AppendBytes(text, value.Bytes, quoted: false);
                break;
            case RespType.BigNumber:
                text.Append("(big number) ");
                AppendBytes(text, value.Bytes, quoted: false);
                break;
            case RespType.Boolean:
                text.Append(value.Integer != 0 ? "(true)" : "(false)");
                break;
            case RespType.Array:
                AppendItems(text, value.Items, "[", "]", pairs: false);
                break;
            case RespType.Set:
                AppendItems(text, value.Items, "(set) [", "]", pairs: false);
                break;
            case RespType.Push:
                AppendItems(text, value.Items, "(push) [", "]", pairs: false);
                break;
            case RespType.Map:
                AppendItems(text, value.Items, "{", "}", pairs: true);
                break;
            default:
                text.Append("(attribute) ");
                AppendItems(text, value.Items, "{", "}", pairs: true);
                break;
        }
    }

    private static void AppendItems(StringBuilder text, IReadOnlyList<RespValue> items, string open, string close, bool pairs)
    {
        text.Append(open);
        for (int i = 0; i < items.Count; i++)
        {
            if (i > 0)
            {
                text.Append(pairs && i % 2 == 1 ? ": " : ", ");
            }

            Append(text, items[i]);
        }

        text.Append(close);
    }

    /// <summary>Printable ASCII as is (quotes and backslashes escaped when quoted), anything else as an escape.</summary>
    private static void AppendBytes(StringBuilder text, byte[]? bytes, bool quoted)
    {
        if (quoted)
        {
            text.Append('"');
        }

        foreach (byte b in bytes ?? [])
        {
            switch (b)
            {
                case (byte)'\r':
                    text.Append("\\r");
                    break;
                case (byte)'\n':
                    text.Append("\\n");
                    break;
                case (byte)'\t':
                    text.Append("\\t");
                    break;
                case (byte)'\\':
                case (byte)'"' when quoted:
                    text.Append('\\').Append((char)b);
                    break;
                case >= 0x20 and < 0x7F:
                    text.Append((char)b);
                    break;
                default:
                    text.Append("\\x").Append(b.ToString("x2"));
                    break;
            }
        }

        if (quoted)
        {
            text.Append('"');
        }
    }
}
