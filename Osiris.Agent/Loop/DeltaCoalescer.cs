using System.Text;

namespace Osiris.Agent.Loop;

/// <summary>
/// Turns a stream of small pieces into at most one publication per coalescing window (30 ms by default), never one
/// per token. A piece that arrives when the last publication is a window old goes out at once; otherwise it waits
/// only for the rest of the window. Publications run one after another, in order, off the caller's thread.
/// </summary>
public sealed class DeltaCoalescer(TimeSpan window, Func<string, Task> publish, CancellationToken ct, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly StringBuilder _pending = new();
    private readonly StringBuilder _all = new();
    private readonly Lock _gate = new();
    private Task _flush = Task.CompletedTask;
    private long _lastFlush;
    private bool _scheduled;

    /// <summary>Everything appended so far.</summary>
    public string Text { get { lock (_gate) { return _all.ToString(); } } }

    public void Append(string piece)
    {
        if (piece.Length == 0)
        {
            return;
        }
        lock (_gate)
        {
            _all.Append(piece);
            _pending.Append(piece);
            if (!_scheduled)
            {
                _scheduled = true;
                _flush = FlushAfterAsync(_flush, window - _time.GetElapsedTime(_lastFlush));
            }
        }
    }

    private async Task FlushAfterAsync(Task previous, TimeSpan wait)
    {
        await Task.Yield(); // never publish inline, inside the caller's lock, on the model stream's thread
        var delay = wait > TimeSpan.Zero ? Task.Delay(wait, _time, ct) : Task.CompletedTask;
        await previous;
        await delay;
        await PublishPendingAsync();
    }

    private async Task PublishPendingAsync()
    {
        string delta;
        lock (_gate)
        {
            delta = _pending.ToString();
            _pending.Clear();
            _scheduled = false;
            _lastFlush = _time.GetTimestamp();
        }
        if (delta.Length > 0)
        {
            await publish(delta);
        }
    }

    /// <summary>Waits for scheduled publications and publishes what is still pending.</summary>
    public async Task FlushAsync()
    {
        Task flush;
        lock (_gate)
        {
            flush = _flush;
        }
        await flush;
        await PublishPendingAsync();
    }

    /// <summary>Drops what is pending and waits for publications already running (a failed turn's text is withdrawn).</summary>
    public async Task AbandonAsync()
    {
        Task flush;
        lock (_gate)
        {
            _pending.Clear();
            flush = _flush;
        }
        try
        {
            await flush;
        }
        catch (OperationCanceledException)
        {
        }
    }
}
