namespace EventflowDb.Server.Commands;

/// <summary>Redis glob matching: * ? [abc] [^a-z] and backslash escapes (CONFIG GET, PSUBSCRIBE).</summary>
internal static class GlobPattern
{
    public static bool IsMatch(ReadOnlySpan<char> pattern, ReadOnlySpan<char> text, bool ignoreCase = false)
    {
        while (pattern.Length > 0)
        {
            switch (pattern[0])
            {
                case '*':
                    while (pattern.Length > 1 && pattern[1] == '*')
                    {
                        pattern = pattern[1..];
                    }

                    if (pattern.Length == 1)
                    {
                        return true;
                    }

                    for (int i = 0; i <= text.Length; i++)
                    {
                        if (IsMatch(pattern[1..], text[i..], ignoreCase))
                        {
                            return true;
                        }
                    }

                    return false;
                case '?':
                    if (text.Length == 0)
                    {
                        return false;
                    }

                    break;
                case '[':
                    if (text.Length == 0 || !MatchClass(ref pattern, text[0], ignoreCase))
                    {
                        return false;
                    }

                    break;
                case '\\' when pattern.Length > 1:
                    pattern = pattern[1..];
                    if (text.Length == 0 || !Same(pattern[0], text[0], ignoreCase))
                    {
                        return false;
                    }

                    break;
                default:
                    if (text.Length == 0 || !Same(pattern[0], text[0], ignoreCase))
                    {
                        return false;
                    }

                    break;
            }

            pattern = pattern[1..];
            text = text[1..];
        }

        return text.Length == 0;
    }

    /// <summary>Matches one character against a [class]; leaves <paramref name="pattern"/> on the closing bracket.</summary>
    private static bool MatchClass(ref ReadOnlySpan<char> pattern, char c, bool ignoreCase)
    {
        pattern = pattern[1..];
        bool negate = pattern.Length > 0 && pattern[0] == '^';
        if (negate)
        {
            pattern = pattern[1..];
        }

        bool matched = false;
        while (pattern.Length > 0 && pattern[0] != ']')
        {
            if (pattern[0] == '\\' && pattern.Length > 1)
            {
                pattern = pattern[1..];
                matched |= Same(pattern[0], c, ignoreCase);
            }
            else if (pattern.Length > 2 && pattern[1] == '-' && pattern[2] != ']')
            {
                char low = pattern[0], high = pattern[2];
                if (low > high)
                {
                    (low, high) = (high, low);
                }

                char x = ignoreCase ? char.ToLowerInvariant(c) : c;
                matched |= (x >= low && x <= high) || (c >= low && c <= high);
                pattern = pattern[2..];
            }
            else
            {
                matched |= Same(pattern[0], c, ignoreCase);
            }

            pattern = pattern[1..];
        }

        if (pattern.Length == 0)
        {
            // Unterminated class: Redis treats the end of the pattern as the end of the class.
            pattern = "]".AsSpan();
        }

        return matched != negate;
    }

    private static bool Same(char a, char b, bool ignoreCase) =>
        a == b || (ignoreCase && char.ToLowerInvariant(a) == char.ToLowerInvariant(b));
}
