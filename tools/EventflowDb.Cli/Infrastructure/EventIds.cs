using NUlid;

namespace EventflowDb.Cli.Infrastructure;

/// <summary>Event ids given on the command line.</summary>
public static class EventIds
{
    /// <summary>Parses <c>--from</c>: an event id, or <c>0</c> / <c>-</c> for the start of the log.</summary>
    public static bool TryParseFrom(string? text, out Ulid id)
    {
        if (text is null or "0" or "-")
        {
            id = Ulid.Empty;
            return true;
        }

        return Ulid.TryParse(text, out id);
    }
}
