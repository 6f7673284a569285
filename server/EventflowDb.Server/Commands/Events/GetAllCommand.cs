using System.Text;
using EventflowDb.Protocol;
using EventflowDb.Server.Network;
using NUlid;

namespace EventflowDb.Server.Commands.Events;

/// <summary>GETALL: events of all streams in log order, strictly after an event id.</summary>
internal sealed class GetAllCommand() : Command("GETALL", -1)
{
    public override async ValueTask ExecuteAsync(ClientSession session, RespRequest request)
    {
        Ulid after = Ulid.Empty;
        long limit = 0;
        if (JsonArgument.IsJsonForm(request))
        {
            var reader = JsonArgument.Open(request[1]);
            while (JsonArgument.NextProperty(ref reader))
            {
                if (reader.ValueTextEquals("offset"u8))
                {
                    JsonArgument.Read(ref reader);
                    after = reader.TokenType == System.Text.Json.JsonTokenType.Null
                        ? Ulid.Empty
                        : ParseOffset(Encoding.UTF8.GetBytes(JsonArgument.ReadString(ref reader, "offset")));
                }
                else if (reader.ValueTextEquals("limit"u8))
                {
                    JsonArgument.Read(ref reader);
                    limit = EventRules.NonNegative(JsonArgument.ReadInt64(ref reader, "limit"), "limit");
                }
                else
                {
                    throw JsonArgument.UnknownField(ref reader, "GETALL");
                }
            }
        }
        else
        {
            if (request.Count > 3)
            {
                throw CommandException.Syntax("syntax error: GETALL [offset] [limit]");
            }

            after = request.Count > 1 ? ParseOffset(request[1]) : Ulid.Empty;
            limit = request.Count > 2 ? EventRules.NonNegative(request, 2, "limit") : 0;
        }

        var page = session.Page;
        page.Clear();
        await session.Store.ReadAllAsync(after, EventRules.PageSize(limit, session.Server.Options), page).ConfigureAwait(false);
        PageReply.Write(session.Writer, page);
    }

    /// <summary>An event id; empty, "0", "-" or the zero ULID mean "from the start".</summary>
    private static Ulid ParseOffset(ReadOnlySpan<byte> text)
    {
        if (text.Length == 0 || text.SequenceEqual("0"u8) || text.SequenceEqual("-"u8))
        {
            return Ulid.Empty;
        }

        Span<char> chars = stackalloc char[26];
        if (text.Length != 26)
        {
            throw CommandException.Invalid("offset is not an event id (ULID)");
        }

        for (int i = 0; i < 26; i++)
        {
            chars[i] = (char)text[i];
        }

        return Ulid.TryParse(chars, out var id) ? id : throw CommandException.Invalid("offset is not an event id (ULID)");
    }
}
