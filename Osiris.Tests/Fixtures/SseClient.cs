using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Text.Json;
using System.Threading.Channels;
using Osiris.Shared.Contracts;

namespace Osiris.Tests.Fixtures;

/// <summary>A real SSE client over HTTP, parsed with System.Net.ServerSentEvents; frames queue up for assertions.</summary>
public sealed class SseClient : IAsyncDisposable
{
    private readonly Channel<SseItem<string>> _frames = Channel.CreateUnbounded<SseItem<string>>();
    private readonly CancellationTokenSource _stop = new();
    private readonly HttpResponseMessage _response;
    private readonly Task _pump;

    private SseClient(HttpResponseMessage response, Stream body)
    {
        _response = response;
        _pump = Task.Run(async () =>
        {
            try
            {
                await foreach (var item in SseParser.Create(body).EnumerateAsync(_stop.Token))
                {
                    await _frames.Writer.WriteAsync(item);
                }
                _frames.Writer.TryComplete();
            }
            catch (Exception ex)
            {
                _frames.Writer.TryComplete(ex is OperationCanceledException ? null : ex);
            }
        });
    }

    public HttpResponseMessage Response => _response;

    public static async Task<SseClient> ConnectAsync(HttpClient http, string query = "", string? lastEventId = null, bool autoRead = true)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/stream" + query);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadAsStreamAsync();
        return new SseClient(response, body);
    }

    /// <summary>The next frame, or null when the server ended the stream.</summary>
    public async Task<SseItem<string>?> NextFrameAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(5));
        try
        {
            if (await _frames.Reader.WaitToReadAsync(cts.Token) && _frames.Reader.TryRead(out var item))
            {
                return item;
            }
            return null;
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"No SSE frame within {(timeout ?? TimeSpan.FromSeconds(5)).TotalSeconds} s");
        }
    }

    public async Task<OsirisEvent?> NextEventAsync(TimeSpan? timeout = null)
    {
        var frame = await NextFrameAsync(timeout);
        return frame is null ? null : Parse(frame.Value);
    }

    /// <summary>Reads until <paramref name="done"/> holds for the events so far; 5 s per event at most.</summary>
    public async Task<List<OsirisEvent>> ReadUntilAsync(Func<List<OsirisEvent>, bool> done, TimeSpan? perEvent = null)
    {
        var events = new List<OsirisEvent>();
        while (!done(events))
        {
            var e = await NextEventAsync(perEvent) ?? throw new InvalidOperationException(
                $"The stream ended after {events.Count} events before the expected ones arrived");
            events.Add(e);
        }
        return events;
    }

    public static OsirisEvent Parse(SseItem<string> frame)
    {
        var e = JsonSerializer.Deserialize<OsirisEvent>(frame.Data, OsirisJson.Options)!;
        Assert.Equal(e.Type, frame.EventType);
        Assert.Equal(e.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), frame.EventId);
        return e;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _response.Dispose();
        try
        {
            await _pump;
        }
        catch (Exception)
        {
            // Closing the stream ends the pump however it ends.
        }
        _stop.Dispose();
    }
}
