using System.Runtime.InteropServices;

namespace EventflowDb.Storage;

/// <summary>The few libc file calls and open flags the store uses directly (direct I/O); Linux only.</summary>
internal static unsafe partial class LinuxFile
{
    public const int ReadOnly = 0x0;
    public const int WriteOnly = 0x1;
    public const int ReadWrite = 0x2;
    public const int Create = 0x40;
    public const int Truncate = 0x200;
    public const int Sync = 0x1000; // O_DSYNC
    public const int CloseOnExec = 0x80000;
    public const int Mode644 = 0x1A4;
    public const int Interrupted = 4; // EINTR
    public const int WillNeed = 3; // POSIX_FADV_WILLNEED

    /// <summary>O_DIRECT for this processor's Linux ABI; null where the store does not know it (direct I/O is then not used).</summary>
    public static int? Direct => !OperatingSystem.IsLinux() ? null : RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 or Architecture.X86 => 0x4000,
        Architecture.Arm64 or Architecture.Arm => 0x10000,
        _ => null,
    };

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int Open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "pwrite", SetLastError = true)]
    public static partial nint Pwrite(int fd, byte* buffer, nint count, long offset);

    [LibraryImport("libc", EntryPoint = "pread", SetLastError = true)]
    public static partial nint Pread(int fd, byte* buffer, nint count, long offset);

    [LibraryImport("libc", EntryPoint = "posix_fadvise")]
    public static partial int Fadvise(int fd, long offset, long length, int advice);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    public static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    public static partial int Close(int fd);
}
