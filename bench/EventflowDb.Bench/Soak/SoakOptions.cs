using System.Globalization;

namespace EventflowDb.Bench.Soak;

/// <summary>The options of <c>soak</c>: how long, how much of each load, where the report goes, extra server flags.</summary>
internal sealed class SoakOptions
{
    public const string Usage =
        "usage: EventflowDb.Bench soak [--minutes 30] [--out docs/] [--port 16547] [--writers 4] [--write-rate 1000]\n" +
        "         [--readers 2] [--subscribers 2] [--stalled 4] [--churn-rate 20] [--bad-rate 10]\n" +
        "         [--server-arg <one server argument>]...   (repeatable, passed to the server as is, e.g. --server-arg=--timeout=30)";

    /// <summary>Length of the run in minutes (fractions allowed for smoke runs).</summary>
    public double Minutes { get; private set; } = 30;

    /// <summary>Directory that receives soak.md and soak.png.</summary>
    public string? OutDirectory { get; private set; }

    public int Port { get; private set; } = 16547;

    /// <summary>Writer connections appending batches.</summary>
    public int Writers { get; private set; } = 4;

    /// <summary>Events per second all writers together aim at (paced, not a closed loop).</summary>
    public int WriteRate { get; private set; } = 1000;

    /// <summary>Reader connections paging with GET and GETALL.</summary>
    public int Readers { get; private set; } = 2;

    /// <summary>Push subscribers that read everything they are sent.</summary>
    public int Subscribers { get; private set; } = 2;

    /// <summary>Push subscribers that subscribe and never read their socket.</summary>
    public int Stalled { get; private set; } = 4;

    /// <summary>Connections per second that connect and vanish.</summary>
    public int ChurnRate { get; private set; } = 20;

    /// <summary>Bad requests per second.</summary>
    public int BadRate { get; private set; } = 10;

    /// <summary>Arguments appended to the server's command line, each one argv element.</summary>
    public List<string> ServerArgs { get; } = [];

    public TimeSpan Duration => TimeSpan.FromMinutes(Minutes);

    /// <summary>Parses the arguments after <c>soak</c>; null with a message when they are wrong.</summary>
    public static SoakOptions? Parse(string[] args, out string? error)
    {
        var options = new SoakOptions();
        error = null;
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i];
            string? value = null;
            int eq = name.IndexOf('=', StringComparison.Ordinal);
            if (name.StartsWith("--", StringComparison.Ordinal) && eq > 0)
            {
                value = name[(eq + 1)..];
                name = name[..eq];
            }
            else if (i + 1 < args.Length)
            {
                value = args[++i];
            }

            if (value is null)
            {
                error = $"'{name}' needs a value.\n{Usage}";
                return null;
            }

            try
            {
                switch (name)
                {
                    case "--minutes":
                        options.Minutes = double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture);
                        if (options.Minutes is <= 0 or > 24 * 60)
                        {
                            throw new FormatException("--minutes must be above 0 and at most 1440");
                        }

                        break;
                    case "--out":
                        options.OutDirectory = value;
                        break;
                    case "--port":
                        options.Port = Count(value, name, 1, 65535);
                        break;
                    case "--writers":
                        options.Writers = Count(value, name, 1, 64);
                        break;
                    case "--write-rate":
                        options.WriteRate = Count(value, name, 1, 1_000_000);
                        break;
                    case "--readers":
                        options.Readers = Count(value, name, 0, 64);
                        break;
                    case "--subscribers":
                        options.Subscribers = Count(value, name, 0, 64);
                        break;
                    case "--stalled":
                        options.Stalled = Count(value, name, 0, 1000);
                        break;
                    case "--churn-rate":
                        options.ChurnRate = Count(value, name, 0, 1000);
                        break;
                    case "--bad-rate":
                        options.BadRate = Count(value, name, 0, 1000);
                        break;
                    case "--server-arg":
                        options.ServerArgs.Add(value);
                        break;
                    default:
                        error = $"Unknown option '{name}'.\n{Usage}";
                        return null;
                }
            }
            catch (FormatException e)
            {
                error = $"{name}: {e.Message}\n{Usage}";
                return null;
            }
        }

        return options;
    }

    /// <summary>The options as one could type them again (for the report).</summary>
    public string CommandLine()
    {
        var parts = new List<string>
        {
            "soak",
            string.Create(CultureInfo.InvariantCulture, $"--minutes {Minutes}"),
            string.Create(CultureInfo.InvariantCulture, $"--writers {Writers} --write-rate {WriteRate} --readers {Readers} --subscribers {Subscribers}"),
            string.Create(CultureInfo.InvariantCulture, $"--stalled {Stalled} --churn-rate {ChurnRate} --bad-rate {BadRate}"),
        };
        parts.AddRange(ServerArgs.Select(a => $"--server-arg \"{a}\""));
        return string.Join(' ', parts);
    }

    private static int Count(string text, string name, int min, int max) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= min && n <= max
            ? n
            : throw new FormatException($"'{text}' is not a whole number from {min} to {max} ({name})");
}
