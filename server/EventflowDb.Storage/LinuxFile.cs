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
    public const int AlreadyExists = 17; // EEXIST
    private const int CurrentDirectory = -100; // AT_FDCWD
    private const int NoReplace = 1; // RENAME_NOREPLACE

    /// <summary>O_DIRECTORY for this processor's Linux ABI.</summary>
    private static int DirectoryFlag => RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x4000 : 0x10000;

    /// <summary>O_DIRECT for this processor's Linux ABI; null where the store does not know it (direct I/O is then not used).</summary>
    public static int? Direct => !OperatingSystem.IsLinux() ? null : RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 or Architecture.X86 => 0x4000,
        Architecture.Arm64 or Architecture.Arm => 0x10000,
        _ => null,
    };

    /// <summary>
    /// Renames <paramref name="source"/> to <paramref name="target"/> only if the target does not exist, in one atomic
    /// step (renameat2 RENAME_NOREPLACE; where the file system does not take it, link then unlink, also atomic).
    /// Returns false when the target exists; other failures throw.
    /// </summary>
    public static bool RenameNoReplace(string source, string target)
    {
        if (Renameat2(CurrentDirectory, source, CurrentDirectory, target, NoReplace) == 0)
        {
            return true;
        }

        int errno = Marshal.GetLastPInvokeError();
        if (errno == AlreadyExists)
        {
            return false;
        }

        if (Link(source, target) != 0)
        {
            int linkErrno = Marshal.GetLastPInvokeError();
            return linkErrno == AlreadyExists
                ? false
                : throw new IOException($"Cannot move {source} to {target} (renameat2 errno {errno}, link errno {linkErrno}).");
        }

        File.Delete(source);
        return true;
    }

    /// <summary>Makes a rename or a new file in <paramref name="directory"/> durable; throws when the directory cannot be opened or synced.</summary>
    public static void SyncDirectory(string directory)
    {
        int fd = Open(directory, ReadOnly | CloseOnExec | DirectoryFlag, 0);
        if (fd < 0)
        {
            throw new IOException($"Cannot open directory {directory} to sync it (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            if (Fsync(fd) != 0)
            {
                throw new IOException($"Cannot sync directory {directory} (errno {Marshal.GetLastPInvokeError()}).");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    private static int s_statMissing;

    /// <summary>
    /// Bytes of the blocks allocated to the file (st_blocks × 512, what du counts: holes take none); null off Linux or where
    /// libc has no stat (glibc before 2.33).
    /// </summary>
    public static long? AllocatedBytes(string path)
    {
        if (!OperatingSystem.IsLinux() || Volatile.Read(ref s_statMissing) != 0)
        {
            return null;
        }

        // struct stat is 144 bytes on x86-64 and 128 on arm64; st_blocks lies at offset 64 on both.
        byte* buffer = stackalloc byte[256];
        try
        {
            if (Stat(path, buffer) != 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                throw errno == 2 ? new FileNotFoundException($"{path} is gone.", path) : new IOException($"Cannot stat {path} (errno {errno}).");
            }
        }
        catch (EntryPointNotFoundException)
        {
            Volatile.Write(ref s_statMissing, 1);
            return null;
        }

        return *(long*)(buffer + 64) * 512;
    }

    /// <summary>
    /// Gives the file system back the whole 4 KiB blocks inside [offset, offset + length) of a file whose bytes there are all
    /// zero (fallocate PUNCH_HOLE | KEEP_SIZE: they read as zeros still, the size stays). Returns the bytes punched; 0 off
    /// Linux or where the file system cannot punch holes (the bytes then stay allocated, which is only a lost saving).
    /// </summary>
    public static long PunchZeros(Microsoft.Win32.SafeHandles.SafeFileHandle file, long offset, long length)
    {
        const long Block = 4096;
        long start = (offset + Block - 1) & ~(Block - 1);
        long end = (offset + length) & ~(Block - 1);
        if (!OperatingSystem.IsLinux() || end <= start)
        {
            return 0;
        }

        bool added = false;
        try
        {
            file.DangerousAddRef(ref added);
            return Fallocate((int)file.DangerousGetHandle(), 0x1 | 0x2, start, end - start) == 0 ? end - start : 0;
        }
        catch (EntryPointNotFoundException)
        {
            return 0;
        }
        finally
        {
            if (added)
            {
                file.DangerousRelease();
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "fallocate", SetLastError = true)]
    private static partial int Fallocate(int fd, int mode, long offset, long length);

    [LibraryImport("libc", EntryPoint = "stat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Stat(string path, byte* buffer);

    [LibraryImport("libc", EntryPoint = "renameat2", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Renameat2(int sourceDirectory, string source, int targetDirectory, string target, uint flags);

    [LibraryImport("libc", EntryPoint = "link", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Link(string source, string target);

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
