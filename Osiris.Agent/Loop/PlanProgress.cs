using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using Osiris.Shared.Contracts;

namespace Osiris.Agent.Loop;

/// <summary>
/// The plan ticks itself off: the model says "Step N done." when it finishes a step of its plan (the system prompt
/// asks it to), and the plan message is republished with that step marked <c>- [x]</c>, which the workbench shows ticked.
/// </summary>
public static partial class PlanProgress
{
    public const string Instruction = " When you finish a step of your plan, say so in your message as \"Step N done.\" (N as numbered in your plan).";

    [GeneratedRegex(@"\bstep\s+(\d{1,2})\s+(?:is\s+)?done\b", RegexOptions.IgnoreCase)]
    private static partial Regex DoneStep();

    [GeneratedRegex(@"^(?:[-*]\s*(?:\[[ xX]\]\s*)?|\d{1,2}[.)]\s*)(?=\S)")]
    private static partial Regex StepPrefix();

    public static IReadOnlyList<int> StepsDone(string text) =>
        DoneStep().Matches(text).Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).Distinct().ToList();

    /// <summary>The plan with those steps (counted among its step lines, 1-based; a heading is not a step) marked done.</summary>
    public static string Tick(string plan, IEnumerable<int> steps)
    {
        var done = steps.ToHashSet();
        var lines = plan.Split('\n');
        var step = 0;
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            var prefix = StepPrefix().Match(line);
            if (!prefix.Success)
            {
                continue;
            }
            step++;
            if (done.Contains(step) && !line.StartsWith("- [x]", StringComparison.OrdinalIgnoreCase))
            {
                lines[i] = "- [x] " + line[prefix.Length..];
            }
        }
        return string.Join('\n', lines);
    }

    /// <summary>Ticks the task's plan for the steps <paramref name="text"/> reports done, and publishes the new plan.</summary>
    public static async Task TickAsync(TaskRun run, string text, CancellationToken ct)
    {
        var steps = StepsDone(text);
        if (steps.Count == 0)
        {
            return;
        }
        await run.WriteAsync(async (db, publisher) =>
        {
            var plan = await db.Messages.Where(m => m.TaskId == run.TaskId && m.Kind == MessageKinds.Plan)
                .OrderByDescending(m => m.CreatedAt).FirstOrDefaultAsync(ct);
            if (plan is null || Tick(plan.Text, steps) is var ticked && ticked == plan.Text)
            {
                return;
            }
            plan.Text = ticked;
            await publisher.PublishAsync(db, EventTypes.NewMessage, run.TaskId,
                new NewMessagePayload(plan.Id, plan.Role, plan.Kind, ticked, Delta: null, Final: true, Model: plan.Model), ct);
        });
    }
}
