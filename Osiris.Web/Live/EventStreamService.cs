using System.Globalization;
using System.Net.ServerSentEvents;
using System.Text.Json;
using Osiris.Shared.Contracts;
using Osiris.Web.Api;

namespace Osiris.Web.Live;

/// <summary>
/// The one subscription of this web instance to <c>GET /api/v1/stream</c>. It starts from the task list's
/// <c>X-Last-Event-Id</c> and, after any drop, resumes with <c>Last-Event-ID</c> (the store's newest applied id),
/// backing off between attempts. Every browser is served from the store, never from its own stream.
/// </summary>
public sealed class EventStreamService(
    IHttpClientFactory factory, OsirisApi api, LiveStore store, LiveLoader loader, TimeProvider time, ILogger<EventStreamService> logger)
    : BackgroundService
{
    /// <summary>The task list read at start is capped; older tasks are fetched when someone opens them.</summary>
    private const int InitialTasks = 2000;

    /// <summary>Failed attempts in a row after which the indicator says offline rather than reconnecting.</summary>
    private const int OfflineAfter = 4;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (!store.Initialized)
                {
                    var (tasks, lastEventId) = await api.ListTasksAsync(InitialTasks, stoppingToken);
                    store.Initialize(tasks, lastEventId);
                }
                await ReadStreamAsync(() => failures = 0, stoppingToken);
                logger.LogInformation("The event stream ended; resuming after event {LastEventId}", store.LastEventId);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is HttpRequestException or IOException or JsonException or OperationCanceledException)
            {
                logger.LogWarning("The event stream failed ({Error}); resuming after event {LastEventId}", e.Message, store.LastEventId);
            }

            failures++;
            store.SetConnection(failures >= OfflineAfter ? ConnectionState.Offline : ConnectionState.Reconnecting);
            await Task.Delay(Backoff(failures), time, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    private async Task ReadStreamAsync(Action connected, CancellationToken ct)
    {
        var http = factory.CreateClient(OsirisApi.StreamClientName);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/stream");
        request.Headers.Add("Last-Event-ID", store.LastEventId.ToString(CultureInfo.InvariantCulture));
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        response.EnsureSuccessStatusCode();
        store.SetConnection(ConnectionState.Live);
        connected();
        logger.LogInformation("Event stream live after event {LastEventId}", store.LastEventId);

        await using var body = await response.Content.ReadAsStreamAsync(ct);
        var parser = SseParser.Create(body, static (_, data) => JsonSerializer.Deserialize<OsirisEvent>(data, OsirisJson.Options)!);
        await foreach (var item in parser.EnumerateAsync(ct))
        {
            if (store.Apply(item.Data) is Guid unknown)
            {
                _ = loader.FetchTaskAsync(unknown);
            }
        }
    }

    /// <summary>0.25 s, 0.5 s, 1 s, 2 s, then 3 s at most, with jitter so that instances do not reconnect in step.</summary>
    private static TimeSpan Backoff(int failures)
    {
        var ms = Math.Min(3000, 250 * Math.Pow(2, Math.Min(failures - 1, 4)));
        return TimeSpan.FromMilliseconds(ms * (0.8 + Random.Shared.NextDouble() * 0.4));
    }
}
