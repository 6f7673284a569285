using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using EventflowDb.Storage;
using Microsoft.AspNetCore.Http;

namespace EventflowDb.Server.Http;

/// <summary>
/// Replies of the read endpoints: a JSON array of the documents exactly as the store holds them (the bytes the RESP
/// replies carry, as bulk strings), and the <c>Link: &lt;...&gt;; rel="next"</c> header (RFC 8288) of the next page.
/// </summary>
internal static class JsonPages
{
    public const string JsonContentType = "application/json; charset=utf-8";

    /// <summary>Writes <c>[doc,doc,...]</c> with <paramref name="status"/> and, when given, the next page's link.</summary>
    public static async Task WriteAsync(HttpContext context, EventPage page, string? next, int status = StatusCodes.Status200OK)
    {
        Start(context, next, status, page.Bytes + 2L + Math.Max(0, page.Count - 1));
        WriteArray(context.Response.BodyWriter, page);
        await context.Response.BodyWriter.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>The same for the events an append stored.</summary>
    public static async Task WriteAsync(HttpContext context, IReadOnlyList<ReadOnlyMemory<byte>> documents, string? next, int status = StatusCodes.Status200OK)
    {
        Start(context, next, status, documents.Sum(d => (long)d.Length) + 2L + Math.Max(0, documents.Count - 1));
        var body = context.Response.BodyWriter;
        body.Write("["u8);
        for (int i = 0; i < documents.Count; i++)
        {
            if (i > 0)
            {
                body.Write(","u8);
            }

            body.Write(documents[i].Span);
        }

        body.Write("]"u8);
        await body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }

    private static void Start(HttpContext context, string? next, int status, long length)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = JsonContentType;
        response.ContentLength = length;
        if (next is not null)
        {
            response.Headers.Link = $"<{next}>; rel=\"next\"";
        }
    }

    private static void WriteArray(PipeWriter body, EventPage page)
    {
        body.Write("["u8);
        for (int i = 0; i < page.Count; i++)
        {
            if (i > 0)
            {
                body.Write(","u8);
            }

            body.Write(page[i]);
        }

        body.Write("]"u8);
    }

    /// <summary>A top-level string field of an event's JSON (<c>id</c>), or null.</summary>
    public static string? StringField(ReadOnlySpan<byte> json, ReadOnlySpan<byte> name)
    {
        var reader = new Utf8JsonReader(json);
        return MoveToField(ref reader, name) && reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
    }

    /// <summary>A top-level integer field of an event's JSON (<c>version</c>), or null.</summary>
    public static long? IntegerField(ReadOnlySpan<byte> json, ReadOnlySpan<byte> name)
    {
        var reader = new Utf8JsonReader(json);
        return MoveToField(ref reader, name) && reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out long value) ? value : null;
    }

    /// <summary>Moves <paramref name="reader"/> to the value of the top-level field <paramref name="name"/>; false when there is none.</summary>
    private static bool MoveToField(ref Utf8JsonReader reader, ReadOnlySpan<byte> name)
    {
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1)
            {
                bool wanted = reader.ValueTextEquals(name);
                reader.Read();
                if (wanted)
                {
                    return true;
                }

                reader.Skip();
            }
        }

        return false;
    }
}
