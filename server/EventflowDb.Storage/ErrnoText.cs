using System.Runtime.InteropServices;

namespace EventflowDb.Storage;

/// <summary>Readable text for the error codes FASTER's device callbacks carry (an errno from our direct device, else a platform code).</summary>
internal static class ErrnoText
{
    private static readonly Dictionary<uint, string> Names = new()
    {
        [5] = "EIO",
        [27] = "EFBIG",
        [28] = "ENOSPC",
        [30] = "EROFS",
        [122] = "EDQUOT",
    };

    public static string Describe(uint code)
    {
        if (code == uint.MaxValue)
        {
            return "I/O error";
        }

        string message = Marshal.GetPInvokeErrorMessage((int)code);
        return Names.TryGetValue(code, out var name) ? $"{message} ({name})" : $"{message} (error {code})";
    }
}
