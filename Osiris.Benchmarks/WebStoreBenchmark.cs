using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Osiris.Shared.Contracts;
using Osiris.Web.Live;

namespace Osiris.Benchmarks;

/// <summary>
/// What a long-running web holds: the dashboard's store after <c>--tasks</c> tasks (50,000) were created and
/// <c>--views</c> task views (300) of <c>--messages</c> messages each (400) were opened and closed, unbounded (as before
/// the bound) and with the store's default bound. Prints the managed heap each store keeps after a full collection, and
/// how long the events took to apply (after a small warm-up run). The store alone, in process: no API, no browser.
/// </summary>
public static class WebStoreBenchmark
{
    public static Task<int> RunAsync(BenchmarkOptions options)
    {
        var tasks = (int)options.Number("tasks", 50_000);
        var views = (int)options.Number("views", 300);
        var messages = (int)options.Number("messages", 400);
        Console.WriteLine($"OSIRIS web store benchmark: {tasks:N0} tasks created, {views} task views of {messages} messages opened and closed");
        Measure(null, () => new LiveStore(), 5_000, 5, messages); // warm-up (JIT), not printed
        Measure("unbounded", () => new LiveStore(int.MaxValue, int.MaxValue), tasks, views, messages);
        Measure($"bounded ({LiveStore.DefaultTaskCapacity:N0} tasks, {LiveStore.DefaultIdleDetails} closed views)", () => new LiveStore(), tasks, views, messages);
        return Task.FromResult(0);
    }

    /// <summary>Not inlined: the store must be unreachable once it returns, so that the next measurement starts clean.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Measure(string? name, Func<LiveStore> create, int taskCount, int views, int messages)
    {
        Collect();
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var store = create();
        store.Initialize([], 0);
        var at = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        var ids = new List<Guid>(taskCount);
        for (var i = 0; i < taskCount; i++)
        {
            var task = new TaskDto(Guid.NewGuid(), $"Task {i}: a title of ordinary length", new string('d', 300), TaskSources.Api, null,
                TaskStatuses.Completed, "openai", "gpt-4o", false, 1200, 0.01m, null, at.AddSeconds(i), at.AddSeconds(i));
            ids.Add(task.Id);
            store.Apply(new OsirisEvent(i + 1, EventTypes.TaskCreated, task.Id, at, JsonSerializer.SerializeToElement(task, OsirisJson.Options)));
        }
        var applied = clock.Elapsed;
        foreach (var id in ids.TakeLast(views))
        {
            using var view = store.Watch(id);
            store.TryClaimDetail(id, out _);
            var history = Enumerable.Range(0, messages).Select(m => new OsirisEvent(m + 1, EventTypes.NewMessage, id, at,
                JsonSerializer.SerializeToElement(new NewMessagePayload(Guid.NewGuid(), MessageRoles.Assistant, MessageKinds.Text,
                    new string('m', 200), null, true, "gpt-4o", false), OsirisJson.Options)));
            store.CompleteDetail(store.FindTask(id)!, history);
        }
        Collect();
        var held = GC.GetTotalMemory(forceFullCollection: true) - before;
        if (name is null)
        {
            return;
        }
        Console.WriteLine($"  {name}: {store.Tasks.Count:N0} tasks listed, {held / 1024.0 / 1024:F1} MB held; " +
                          $"{taskCount:N0} task_created applied in {applied.TotalMilliseconds:F0} ms ({applied.TotalMicroseconds / taskCount:F1} µs each)");
        GC.KeepAlive(store);
    }

    private static void Collect()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }
}
