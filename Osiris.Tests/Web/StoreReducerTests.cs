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
}
