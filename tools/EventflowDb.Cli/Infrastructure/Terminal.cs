using System.Text;
using Spectre.Console;

namespace EventflowDb.Cli.Infrastructure;

/// <summary>
/// Where efdb writes: data (JSON lines, tables) to stdout, messages and progress to stderr. Progress bars are drawn
/// only on a terminal (neither stdout nor stderr redirected); otherwise progress is plain lines on stderr.
/// </summary>
public static class Terminal
{
    private static readonly Lock StdoutLock = new();
    private static Stream? s_stdout;

    /// <summary>A Spectre console over stderr (progress displays).</summary>
    public static IAnsiConsole Error { get; } = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });

    /// <summary>True when progress bars and tables may be drawn.</summary>
    public static bool Interactive => !Console.IsOutputRedirected && !Console.IsErrorRedirected;

    /// <summary>Raw, buffered stdout for data; flush with <see cref="FlushOutput"/>.</summary>
    public static Stream Output
    {
        get
        {
            lock (StdoutLock)
            {
                return s_stdout ??= new BufferedStream(Console.OpenStandardOutput(), 1 << 16);
            }
        }
    }

    /// <summary>Writes one line of UTF-8 bytes to stdout (buffered).</summary>
    public static void WriteLine(ReadOnlySpan<byte> line)
    {
        var output = Output;
        output.Write(line);
        output.WriteByte((byte)'\n');
    }

    /// <summary>Writes one line of text to stdout (buffered).</summary>
    public static void WriteLine(string line) => WriteLine(Encoding.UTF8.GetBytes(line));

    /// <summary>Flushes stdout.</summary>
    public static void FlushOutput() => s_stdout?.Flush();

    /// <summary>A message on stderr.</summary>
    public static void Info(string message) => Console.Error.WriteLine(message);

    /// <summary>A warning on stderr.</summary>
    public static void Warn(string message) => Console.Error.WriteLine($"warning: {message}");

    /// <summary>An error on stderr; returns <paramref name="exitCode"/>.</summary>
    public static int Fail(string message, int exitCode = ExitCodes.Error)
    {
        Console.Error.WriteLine($"efdb: {message}");
        return exitCode;
    }
}
