using System.Diagnostics;
using Osiris.Shared.Events;

namespace Osiris.Web.Live;

/// <summary>
/// Renders one component at most once per frame however many events arrive: the first change after a quiet frame
/// renders at once; changes that come while a render is due fold into it. A burst of 30 text deltas costs one render,
/// not 30, and the first change is never delayed. The render is traced as <c>osiris.web.render</c>, a child of the
/// event that asked for it, so a webhook's trace reaches the diff sent to the browser.
/// </summary>
public sealed class RenderPacer(string component, Func<Func<Task>, Task> invoke, Action render)
{
    /// <summary>One frame at 60 Hz: a browser shows nothing faster.</summary>
    public static readonly TimeSpan Frame = TimeSpan.FromMilliseconds(16);

    private int _due;
    private long _lastRender;

    /// <summary>Asks for a render; the current span (the event being applied), if any, becomes the render span's parent.</summary>
    public void Request()
    {
        if (Interlocked.Exchange(ref _due, 1) == 1)
        {
            return; // a render is already due; it will show this change too
        }
        var cause = Activity.Current?.Context ?? default;
        var wait = Frame - Stopwatch.GetElapsedTime(Volatile.Read(ref _lastRender));
        _ = RenderAsync(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, cause);
    }

    private async Task RenderAsync(TimeSpan wait, ActivityContext cause)
    {
        try
        {
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }
            await invoke(() =>
            {
                Volatile.Write(ref _due, 0);
                Volatile.Write(ref _lastRender, Stopwatch.GetTimestamp());
                using var span = cause == default ? null : OsirisTelemetry.Source.StartActivity("osiris.web.render", ActivityKind.Internal, cause);
                span?.SetTag("osiris.web.component", component);
                render();
                return Task.CompletedTask;
            });
        }
        catch (ObjectDisposedException)
        {
            // The circuit closed (the tab went away): nothing left to render.
        }
    }
}
