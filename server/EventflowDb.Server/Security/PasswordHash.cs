using System.Security.Cryptography;
using System.Text;

namespace EventflowDb.Server.Security;

/// <summary>Passwords are kept only as SHA-256 (as Redis does); checks compare every hash in constant time.</summary>
internal static class PasswordHash
{
    public const int HexLength = 64;

    public static byte[] Of(ReadOnlySpan<byte> password) => SHA256.HashData(password);

    public static byte[] Of(string password) => Of(Encoding.UTF8.GetBytes(password));

    public static string Hex(byte[] hash) => Convert.ToHexStringLower(hash);

    /// <summary>Parses 64 hex digits; null when the text is not a SHA-256 in hex.</summary>
    public static byte[]? FromHex(string hex)
    {
        if (hex.Length != HexLength)
        {
            return null;
        }

        try
        {
            return Convert.FromHexString(hex);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>True when <paramref name="password"/> hashes to one of <paramref name="hashes"/>; looks at every hash whatever matches.</summary>
    public static bool Matches(ReadOnlySpan<byte> password, IReadOnlyList<byte[]> hashes)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(password, hash);
        bool found = false;
        foreach (var candidate in hashes)
        {
            found |= CryptographicOperations.FixedTimeEquals(hash, candidate);
        }

        return found;
    }
}
