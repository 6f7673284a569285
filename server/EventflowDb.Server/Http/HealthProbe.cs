using System.Globalization;

namespace EventflowDb.Server.Http;

/// <summary>
/// <c>EventflowDb.Server healthcheck [port]</c>: asks the local server's /health and exits 0 when it is serving, 1
/// otherwise. For container HEALTHCHECKs, which have no curl in the runtime image.
/// </summary>
internal static class HealthProbe
{
    public const string Verb = "healthcheck";

    public static async Task<int> RunAsync(string[] args)
    {
        string portText = args.Length > 1 ? args[1] : Environment.GetEnvironmentVariable("HTTP_PORT") is { Length: > 0 } fromEnvironment ? fromEnvironment : "6544";
        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
        {
            await Console.Error.WriteLineAsync($"healthcheck: '{portText}' is not a port").ConfigureAwait(false);
            return 1;
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            using var reply = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/health")).ConfigureAwait(false);
            string body = await reply.Content.ReadAsStringAsync().ConfigureAwait(false);
            await Console.Out.WriteLineAsync($"{(int)reply.StatusCode} {body}").ConfigureAwait(false);
            return reply.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            await Console.Error.WriteLineAsync($"healthcheck: {e.Message}").ConfigureAwait(false);
            return 1;
        }
    }
}
