using Osiris.Shared.Contracts;
using Osiris.Tests.Fixtures;

namespace Osiris.Tests.Faults;

/// <summary>
/// An SSE client as a browser's EventSource behaves: when the stream breaks it connects again (through the same
/// endpoint) with the last id it saw, until stopped. It keeps every event it received, duplicates included.
/// </summary>
public sealed class ReconnectingClient : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly List<OsirisEvent> _events = [];

    public ReconnectingClient(HttpClient http, long fromId, string query = "")
    {
        LastId = fromId;
        _loop = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    await using var stream = await SseClient.ConnectAsync(http, query, LastId.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    Connections++;
                    var quiet = System.Diagnostics.Stopwatch.StartNew();
                    while (!_stop.IsCancellationRequested)
                    {
                        OsirisEvent? e;
                        try
                        {
                            e = await stream.NextEventAsync(TimeSpan.FromSeconds(1));
                        }
                        catch (TimeoutException) when (quiet.Elapsed < TimeSpan.FromSeconds(30))
                        {
                            continue; // nothing new; the stream is quiet, not broken
                        }
                        if (e is null)
                        {
                            break;
                        }
                        quiet.Restart();
                        lock (_events)
                        {
                            _events.Add(e);
                            LastId = Math.Max(LastId, e.Id);
                        }
                    }
                }
                catch (Exception)
                {
                    // The replica died or the proxy refused: EventSource waits its retry time and connects again.
                }
                if (!_stop.IsCancellationRequested)
                {
                    await Task.Delay(250);
                }
            }
        });
    }

    public long LastId { get; private set; }

    public int Connections { get; private set; }

    public IReadOnlyList<OsirisEvent> Events
    {
        get
        {
            lock (_events)
            {
                return [.. _events];
            }
        }
    }

    /// <summary>Waits until the client has seen <paramref name="id"/>.</summary>
    public async Task WaitForAsync(long id, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (LastId < id)
        {
            await Task.Delay(50, cts.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }
    }
}
