using Osiris.Shared.Contracts;
using Osiris.Tests.Fixtures;

namespace Osiris.Tests.Agent;

public static class AgentEvents
{
    public static string? Status(this OsirisEvent e) =>
        e.Type == "task_update" && e.Payload.TryGetProperty("status", out var s) ? s.GetString() : null;

    public static string? Kind(this OsirisEvent e) =>
        e.Type == "new_message" && e.Payload.TryGetProperty("kind", out var k) ? k.GetString() : null;

    public static bool Ends(this OsirisEvent e) => e.Status() is "completed" or "failed" or "cancelled";

    /// <summary>Reads the task's stream until <paramref name="until"/> holds; 30 s per event at most.</summary>
    public static async Task<List<OsirisEvent>> ReadTaskAsync(this SseClient stream, Func<OsirisEvent, bool> until, List<OsirisEvent>? into = null)
    {
        var events = into ?? [];
        while (true)
        {
            var e = await stream.NextEventAsync(TimeSpan.FromSeconds(30)) ?? throw new InvalidOperationException("the stream ended");
            events.Add(e);
            if (until(e))
            {
                return events;
            }
        }
    }
}
