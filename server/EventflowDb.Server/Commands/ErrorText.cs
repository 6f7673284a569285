using System.Text;

namespace EventflowDb.Server.Commands;

/// <summary>
/// Arguments quoted in error replies. An error repeats at most <see cref="MaxArgumentBytes"/> bytes of any argument
/// (SPEC.md v2 limits), cut from the raw bytes before anything is decoded, so that a 64 MiB argument never becomes a
/// 64 MiB string (and a 64 MiB error reply) just to say it was wrong.
/// </summary>
internal static class ErrorText
{
    public const int MaxArgumentBytes = 128;

    /// <summary>The argument as text, cut to <see cref="MaxArgumentBytes"/> bytes (at a character boundary) with "..." when longer.</summary>
    public static string Excerpt(ReadOnlySpan<byte> argument)
    {
        if (argument.Length <= MaxArgumentBytes)
        {
            return Encoding.UTF8.GetString(argument);
        }

        // Back up over UTF-8 continuation bytes so that the cut does not split a character.
        int cut = MaxArgumentBytes;
        while (cut > 0 && (argument[cut] & 0xC0) == 0x80)
        {
            cut--;
        }

        return Encoding.UTF8.GetString(argument[..cut]) + "...";
    }

    /// <summary>The same for an argument already decoded; only its first characters are encoded again.</summary>
    public static string Excerpt(string argument)
    {
        if (argument.Length * 3 <= MaxArgumentBytes)
        {
            return argument; // even all three-byte characters fit
        }

        // MaxArgumentBytes + 1 characters are more than MaxArgumentBytes bytes, so the cut (and its "...") still happens.
        return Excerpt(Encoding.UTF8.GetBytes(argument.Length > MaxArgumentBytes + 1 ? argument[..(MaxArgumentBytes + 1)] : argument));
    }
}
