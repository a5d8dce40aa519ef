using System.Collections.Immutable;
using System.Text.Json;
using Osiris.Shared.Contracts;
using Osiris.Web.Live;

namespace Osiris.Tests.Web;

/// <summary>The web store's reducers and its history/live merge, without a browser or an API.</summary>
[Trait("Category", "Unit")]
public sealed class StoreReducerTests
{
    private static readonly Guid TaskId = Guid.NewGuid();
    private static readonly DateTimeOffset At = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    private static OsirisEvent Event(long id, string type, object payload, Guid? taskId = null) =>
        new(id, type, taskId ?? TaskId, At.AddSeconds(id), JsonSerializer.SerializeToElement(payload, OsirisJson.Options));

    private static OsirisEvent Message(long id, Guid messageId, string? text = null, string? delta = null, bool final = false, bool retracted = false) =>
        Event(id, EventTypes.NewMessage, new NewMessagePayload(messageId, MessageRoles.Assistant, MessageKinds.Text, text, delta, final, "gpt-4o", retracted));

    private static TaskDto Task(string status = TaskStatuses.Running) =>
        new(TaskId, "Fix the build", "", TaskSources.Api, null, status, "openai", "gpt-4o", false, 0, 0, null, At, At);

    [Fact]
    public void DeltasBuildUpAMessageAndTheFinalTextReplacesThem()
    {
        var id = Guid.NewGuid();
        var detail = TaskDetail.Empty;
        detail = TaskDetailReducer.Apply(detail, Message(1, id, delta: "Hel"));
        detail = TaskDetailReducer.Apply(detail, Message(2, id, delta: "lo"));
        Assert.Equal("Hello", Assert.Single(detail.Messages).Text);
        Assert.False(detail.Messages[0].Final);

        detail = TaskDetailReducer.Apply(detail, Message(3, id, text: "Hello there.", final: true));
        Assert.Equal("Hello there.", detail.Messages[0].Text);
        Assert.True(detail.Messages[0].Final);
    }

    [Fact]
    public void AnEventSeenBeforeChangesNothingAndARetractedMessageDisappears()
    {
        var id = Guid.NewGuid();
        var detail = TaskDetailReducer.Apply(TaskDetail.Empty, Message(5, id, delta: "Half"));
        var again = TaskDetailReducer.Apply(detail, Message(5, id, delta: "Half"));
        Assert.Same(detail, again);
        var older = TaskDetailReducer.Apply(detail, Message(4, Guid.NewGuid(), text: "late"));
        Assert.Same(detail, older);

        detail = TaskDetailReducer.Apply(detail, Message(6, id, text: "", final: true, retracted: true));
        Assert.Empty(detail.Messages);
    }

    [Fact]
    public void ADraftGrowsThenTheWrittenVersionReplacesItAndADiscardedDraftLeavesNoCard()
    {
        var detail = TaskDetail.Empty;
        detail = TaskDetailReducer.Apply(detail, Event(1, EventTypes.ArtifactStream, new ArtifactStreamPayload("run.sh", "", 0, 4, Partial: true, Delta: "echo")));
        detail = TaskDetailReducer.Apply(detail, Event(2, EventTypes.ArtifactStream, new ArtifactStreamPayload("run.sh", "", 0, 7, Partial: true, Delta: " hi")));
        Assert.Equal("echo hi", Assert.Single(detail.Artifacts).Draft);

        detail = TaskDetailReducer.Apply(detail, Event(3, EventTypes.ArtifactStream, new ArtifactStreamPayload("run.sh", "+echo hi", 1, 8)));
        var written = Assert.Single(detail.Artifacts);
        Assert.Null(written.Draft);
        Assert.Equal(1, written.Latest!.Version);

        detail = TaskDetailReducer.Apply(detail, Event(4, EventTypes.ArtifactStream, new ArtifactStreamPayload("notes.md", "", 0, 3, Partial: true, Delta: "abc")));
        Assert.Equal(["run.sh", "notes.md"], detail.Artifacts.Select(a => a.Path));
        detail = TaskDetailReducer.Apply(detail, Event(5, EventTypes.ArtifactStream, new ArtifactStreamPayload("notes.md", "", 0, 0, Partial: true, Discarded: true)));
        Assert.Equal(["run.sh"], detail.Artifacts.Select(a => a.Path));
    }

    [Fact]
    public void TerminalLinesCollectInOrderAndTheEndSetsExitCodeAndDuration()
    {
        var detail = TaskDetail.Empty;
        detail = TaskDetailReducer.Apply(detail, Event(1, EventTypes.TerminalLog, new TerminalLogPayload("c1", "make", "stdout", "cc main.c\n")));
        detail = TaskDetailReducer.Apply(detail, Event(2, EventTypes.TerminalLog, new TerminalLogPayload("c1", "make", "stderr", "error: x\n")));
        Assert.True(Assert.Single(detail.Terminals).Running);
        detail = TaskDetailReducer.Apply(detail, Event(3, EventTypes.TerminalLog, new TerminalLogPayload("c1", "make", "stdout", "", ExitCode: 2, DurationMs: 41)));
        var session = Assert.Single(detail.Terminals);
        Assert.Equal(["stdout", "stderr"], session.Output.Select(o => o.Stream));
        Assert.Equal((2, 41L), (session.ExitCode!.Value, session.DurationMs!.Value));
        Assert.False(session.Running);
    }

    [Fact]
    public void AnApprovalShowsWhileAwaitedAndGoesWhenTheTaskMovesOn()
    {
        var approval = new ApprovalRequest("a1", "run_command", JsonSerializer.SerializeToElement(new { command = "rm -rf build" }));
        var detail = TaskDetailReducer.Apply(TaskDetail.Empty, Event(1, EventTypes.TaskUpdate,
            new TaskUpdatePayload(TaskStatuses.AwaitingApproval, 2, 10, 0, "openai", "gpt-4o", approval)));
        Assert.Equal("a1", detail.Approval?.Id);
        detail = TaskDetailReducer.Apply(detail, Event(2, EventTypes.TaskUpdate, new TaskUpdatePayload(TaskStatuses.Running, 3, 20, 0, "openai", "gpt-4o")));
        Assert.Null(detail.Approval);
    }

    [Fact]
    public void TheTaskListTakesNewTasksAndUpdatesAndNamesATaskItDoesNotKnow()
    {
        var tasks = ImmutableDictionary<Guid, TaskDto>.Empty;
        tasks = TaskListReducer.Apply(tasks, Event(1, EventTypes.TaskCreated, Task(TaskStatuses.Queued)), out var unknown);
        Assert.Null(unknown);
        Assert.Equal(TaskStatuses.Queued, tasks[TaskId].Status);

        tasks = TaskListReducer.Apply(tasks, Event(2, EventTypes.TaskUpdate,
            new TaskUpdatePayload(TaskStatuses.Paused, 4, 900, 0.12m, "gemini", "gemini-2.5-pro", Result: "Budget used up", PausedFor: PauseReasons.Budget, BudgetUsd: 0.1m)), out _);
        var task = tasks[TaskId];
        Assert.Equal((TaskStatuses.Paused, 900L, 0.12m, "gemini", PauseReasons.Budget), (task.Status, task.Tokens, task.CostUsd, task.Brain!, task.PausedFor!));
        Assert.Equal(At.AddSeconds(2), task.UpdatedAt);

        var stranger = Guid.NewGuid();
        var same = TaskListReducer.Apply(tasks, Event(3, EventTypes.TaskUpdate, new TaskUpdatePayload(TaskStatuses.Running, 1, 0, 0, null, null), stranger), out unknown);
        Assert.Same(tasks, same);
        Assert.Equal(stranger, unknown);
    }

    [Fact]
    public async Task EventsArrivingWhileTheHistoryLoadsAreAppliedAfterItOnceEach()
    {
        var store = new LiveStore();
        store.Initialize([Task()], lastEventId: 10);
        Assert.True(store.TryClaimDetail(TaskId, out var loaded));
        Assert.False(store.TryClaimDetail(TaskId, out var second));
        Assert.Null(store.Detail(TaskId)); // not shown half-loaded

        var id = Guid.NewGuid();
        store.Apply(Message(12, id, delta: " world"));
        store.Apply(Message(11, id, delta: "ignored: older than the store's position"));

        // The history overlaps the live events: event 12 is in both.
        store.CompleteDetail(Task(), [Message(9, id, delta: "Hello"), Message(12, id, delta: " world")]);
        Assert.True(loaded.IsCompleted);
        Assert.True(await loaded);
        Assert.True(await second);
        Assert.Equal("Hello world", Assert.Single(store.Detail(TaskId)!.Messages).Text);

        store.Apply(Message(13, id, text: "Hello world!", final: true));
        Assert.Equal("Hello world!", store.Detail(TaskId)!.Messages[0].Text);
    }

    [Fact]
    public async Task AnAbandonedLoadLetsTheNextVisitTryAgainAndAnUnknownTaskIsNamed()
    {
        var store = new LiveStore();
        store.Initialize([], lastEventId: 0);
        Assert.True(store.TryClaimDetail(TaskId, out var loaded));
        store.AbandonDetail(TaskId, null);
        Assert.True(loaded.IsCompleted);
        Assert.False(await loaded);
        Assert.True(store.TryClaimDetail(TaskId, out _));

        var unknown = store.Apply(Event(1, EventTypes.TaskUpdate, new TaskUpdatePayload(TaskStatuses.Running, 1, 0, 0, null, null)));
        Assert.Equal(TaskId, unknown);
        store.AddIfMissing(Task());
        Assert.NotNull(store.FindTask(TaskId));
    }

    [Fact]
    public void TheListKeepsTheMostRecentlyChangedTasksAndEveryTaskWhoseDetailIsLoaded()
    {
        var store = new LiveStore(taskCapacity: 10, idleDetails: 2);
        store.Initialize([], lastEventId: 0);
        var ids = Enumerable.Range(0, 25).Select(_ => Guid.NewGuid()).ToList();
        store.Apply(Event(1, EventTypes.TaskCreated, Task() with { Id = ids[0], UpdatedAt = At }, ids[0]));
        using (store.Watch(ids[0]))
        {
            Assert.True(store.TryClaimDetail(ids[0], out _));
            store.CompleteDetail(Task() with { Id = ids[0] }, []);
            for (var i = 1; i < ids.Count; i++)
            {
                store.Apply(Event(i + 1, EventTypes.TaskCreated, Task() with { Id = ids[i], UpdatedAt = At.AddMinutes(i) }, ids[i]));
                Assert.InRange(store.Tasks.Count, 1, 10);
            }
            Assert.NotNull(store.FindTask(ids[0])); // the oldest, but open
        }
        Assert.NotNull(store.FindTask(ids[^1]));
        Assert.Null(store.FindTask(ids[1]));

        // A dropped task that changes is named, to be fetched into the list again.
        var unknown = store.Apply(Event(100, EventTypes.TaskUpdate, new TaskUpdatePayload(TaskStatuses.Completed, 3, 0, 0, null, null), ids[1]));
        Assert.Equal(ids[1], unknown);
    }

    [Fact]
    public async Task OfTheTaskViewsNobodyHasOpenOnlyTheMostRecentlyClosedStayLoaded()
    {
        var store = new LiveStore(taskCapacity: 100, idleDetails: 2);
        var ids = Enumerable.Range(0, 5).Select(_ => Guid.NewGuid()).ToList();
        store.Initialize(ids.Select(id => Task() with { Id = id }), lastEventId: 0);
        var open = store.Watch(ids[0]);
        Assert.True(store.TryClaimDetail(ids[0], out _));
        store.CompleteDetail(Task() with { Id = ids[0] }, []);
        foreach (var id in ids.Skip(1))
        {
            using (store.Watch(id))
            {
                Assert.True(store.TryClaimDetail(id, out _));
                Assert.Null(store.Detail(id)); // loading
                store.CompleteDetail(Task() with { Id = id }, [Message(1, Guid.NewGuid(), text: "hi", final: true)]);
                Assert.NotNull(store.Detail(id));
            }
        }
        Assert.NotNull(store.Detail(ids[0])); // still open
        Assert.Null(store.Detail(ids[1]));
        Assert.Null(store.Detail(ids[2]));
        Assert.NotNull(store.Detail(ids[3]));
        Assert.NotNull(store.Detail(ids[4]));
        Assert.False(store.TryClaimDetail(ids[4], out var kept));
        Assert.True(await kept);
        Assert.True(store.TryClaimDetail(ids[1], out _)); // dropped: the next visit loads it again

        open.Dispose();
        open.Dispose(); // once only
        Assert.Null(store.Detail(ids[3])); // ids[0] closed last: the two most recently closed are ids[4] and ids[0]
        Assert.NotNull(store.Detail(ids[0]));
    }

    [Fact]
    public async Task AFailedLoadUnderAnOpenViewLetsTheViewTryAgain()
    {
        var store = new LiveStore();
        store.Initialize([Task()], lastEventId: 0);
        using var view = store.Watch(TaskId);
        Assert.Null(store.Detail(TaskId)); // watched, not loaded
        store.Apply(Message(1, Guid.NewGuid(), text: "before the load", final: true));
        Assert.True(store.TryClaimDetail(TaskId, out var first));
        store.AbandonDetail(TaskId, new HttpRequestException("the API is away"));
        await Assert.ThrowsAsync<HttpRequestException>(() => first);
        Assert.True(store.TryClaimDetail(TaskId, out var second));
        store.CompleteDetail(Task(), [Message(1, Guid.NewGuid(), text: "from the history", final: true)]);
        Assert.True(await second);
        Assert.Equal("from the history", Assert.Single(store.Detail(TaskId)!.Messages).Text);
    }
}
