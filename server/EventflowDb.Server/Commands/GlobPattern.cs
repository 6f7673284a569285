namespace EventflowDb.Server.Commands;

/// <summary>
/// Redis glob matching: * ? [abc] [^a-z] and backslash escapes (CONFIG GET, PSUBSCRIBE), in time linear in
/// pattern × text. A mismatch goes back only to the last star seen and lets it take one more character: a later
/// star can absorb whatever an earlier one would have, so no other choice needs revisiting (the recursive matcher
/// this replaces was exponential on patterns like <c>*a*a*a…*b</c>, as in Redis CVE-2022-36021).
/// </summary>
internal static class GlobPattern
{
    /// <summary>Longest pattern a client may give (SPEC.md v2): matching is linear, but still pattern × channel per event.</summary>
    public const int MaxPatternBytes = 1024;

    /// <summary>Refuses a pattern over <see cref="MaxPatternBytes"/> before it is decoded or stored.</summary>
    public static void CheckLength(ReadOnlySpan<byte> pattern)
    {
        if (pattern.Length > MaxPatternBytes)
        {
            throw CommandException.Syntax($"pattern is longer than {MaxPatternBytes} bytes");
        }
    }

    public static bool IsMatch(ReadOnlySpan<char> pattern, ReadOnlySpan<char> text, bool ignoreCase = false)
    {
        int p = 0;
        int t = 0;
        int starPattern = -1;
        int starText = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && pattern[p] == '*')
            {
                starPattern = p++;
                starText = t;
                continue;
            }

            if (p < pattern.Length && MatchOne(pattern, p, text[t], ignoreCase, out int next))
            {
                p = next;
                t++;
                continue;
            }

            if (starPattern < 0)
            {
                return false;
            }

            p = starPattern + 1;
            t = ++starText;
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }

    /// <summary>Matches the single-character token at <paramref name="p"/> (not a star); <paramref name="next"/> is the token after it.</summary>
    private static bool MatchOne(ReadOnlySpan<char> pattern, int p, char c, bool ignoreCase, out int next)
    {
        switch (pattern[p])
        {
            case '?':
                next = p + 1;
                return true;
            case '[':
                return MatchClass(pattern, p + 1, c, ignoreCase, out next);
            case '\\' when p + 1 < pattern.Length:
                next = p + 2;
                return Same(pattern[p + 1], c, ignoreCase);
            default:
                next = p + 1;
                return Same(pattern[p], c, ignoreCase);
        }
    }

    /// <summary>Matches one character against the [class] whose body starts at <paramref name="p"/>; <paramref name="next"/> is past its closing bracket.</summary>
    private static bool MatchClass(ReadOnlySpan<char> pattern, int p, char c, bool ignoreCase, out int next)
    {
        bool negate = p < pattern.Length && pattern[p] == '^';
        if (negate)
        {
            p++;
        }

        bool matched = false;
        while (p < pattern.Length && pattern[p] != ']')
        {
            if (pattern[p] == '\\' && p + 1 < pattern.Length)
            {
                p++;
                matched |= Same(pattern[p], c, ignoreCase);
            }
            else if (p + 2 < pattern.Length && pattern[p + 1] == '-' && pattern[p + 2] != ']')
            {
                char low = pattern[p], high = pattern[p + 2];
                if (low > high)
                {
                    (low, high) = (high, low);
                }

                char x = ignoreCase ? char.ToLowerInvariant(c) : c;
                matched |= (x >= low && x <= high) || (c >= low && c <= high);
                p += 2;
            }
            else
            {
                matched |= Same(pattern[p], c, ignoreCase);
            }

            p++;
        }

        // An unterminated class ends with the pattern, as in Redis.
        next = Math.Min(p + 1, pattern.Length);
        return matched != negate;
    }

    private static bool Same(char a, char b, bool ignoreCase) =>
        a == b || (ignoreCase && char.ToLowerInvariant(a) == char.ToLowerInvariant(b));
}
