using System.Text;

namespace EventflowDb.Tests.Http;

/// <summary>One Server-Sent Event: its id and its data lines joined with '\n', as an EventSource sees it.</summary>
public sealed record SseEvent(string? Id, string Data);

/// <summary>Reads a text/event-stream the way the EventSource spec does (fields, comments, blank line ends an event).</summary>
public sealed class SseReader(Stream stream) : IDisposable
{
    private readonly StreamReader _reader = new(stream, Encoding.UTF8);

    /// <summary>Comments received so far (": heartbeat").</summary>
    public List<string> Comments { get; } = [];

    /// <summary>The next event; null at the end of the stream.</summary>
    public async Task<SseEvent?> NextAsync(CancellationToken cancellationToken)
    {
        string? id = null;
        var data = new List<string>();
        while (true)
        {
            string? line = await _reader.ReadLineAsync(cancellationToken);
            if (line is null)
            {
                return null;
            }

            if (line.Length == 0)
            {
                if (data.Count > 0)
                {
                    return new SseEvent(id, string.Join("\n", data));
                }

                continue;
            }

            if (line.StartsWith(':'))
            {
                Comments.Add(line);
            }
            else if (line.StartsWith("id: ", StringComparison.Ordinal))
            {
                id = line["id: ".Length..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                data.Add(line["data: ".Length..]);
            }
        }
    }

    /// <summary>Reads lines until a comment equal to <paramref name="comment"/> arrives; false at the end of the stream.</summary>
    public async Task<bool> WaitForCommentAsync(string comment, CancellationToken cancellationToken)
    {
        while (true)
        {
            string? line = await _reader.ReadLineAsync(cancellationToken);
            if (line is null)
            {
                return false;
            }

            if (line == comment)
            {
                return true;
            }
        }
    }

    /// <summary>True once the server has ended the stream (reads to the end, ignoring what comes first).</summary>
    public async Task<bool> EndsAsync(CancellationToken cancellationToken)
    {
        while (await _reader.ReadLineAsync(cancellationToken) is not null)
        {
        }

        return true;
    }

    public void Dispose() => _reader.Dispose();
}
