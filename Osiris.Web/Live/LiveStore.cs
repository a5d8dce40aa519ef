using System.Collections.Immutable;
using System.Text.Json;
using Osiris.Shared.Contracts;

namespace Osiris.Web.Live;

/// <summary>
/// The one state store of this web instance: every task, the details of the tasks someone opened, and the connection.
/// Fed by <see cref="EventStreamService"/> and <see cref="LiveLoader"/>; it makes no calls itself. Components read
/// immutable snapshots and re-render on the change events (which fire on the stream's thread, so components marshal
/// with <c>InvokeAsync</c>).
/// </summary>
public sealed class LiveStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<Guid, DetailSlot> _details = [];
    private ImmutableDictionary<Guid, TaskDto> _tasks = ImmutableDictionary<Guid, TaskDto>.Empty;

    public event Action? TasksChanged;
    public event Action<Guid>? TaskChanged;
    public event Action? ConnectionChanged;
    public event Action<Notification>? Notified;

    public bool Initialized { get; private set; }
    public long LastEventId { get; private set; }
    public ConnectionState Connection { get; private set; } = ConnectionState.Connecting;
    /// <summary>Every task; the same list object until the tasks change, so that readers in one render share it.</summary>
    public IReadOnlyCollection<TaskDto> Tasks
    {
        get
        {
            var tasks = _tasks;
            var list = _list;
            if (!ReferenceEquals(list.Source, tasks))
            {
                list = new TaskList(tasks, [.. tasks.Values]);
                _list = list;
            }
            return list.Items;
        }
    }

    private sealed record TaskList(ImmutableDictionary<Guid, TaskDto> Source, IReadOnlyCollection<TaskDto> Items);

    private TaskList _list = new(ImmutableDictionary<Guid, TaskDto>.Empty, []);

    public TaskDto? FindTask(Guid id) => _tasks.GetValueOrDefault(id);

    public TaskDetail? Detail(Guid id)
    {
        lock (_gate)
        {
            return _details.TryGetValue(id, out var slot) && slot.Pending is null ? slot.State : null;
        }
    }

    /// <summary>Starts from the task list; the stream then resumes after <paramref name="lastEventId"/>.</summary>
    public void Initialize(IEnumerable<TaskDto> tasks, long lastEventId)
    {
        lock (_gate)
        {
            _tasks = tasks.ToImmutableDictionary(t => t.Id);
            LastEventId = lastEventId;
            Initialized = true;
        }
        TasksChanged?.Invoke();
    }

    public void SetConnection(ConnectionState state)
    {
        if (Connection == state)
        {
            return;
        }
        Connection = state;
        ConnectionChanged?.Invoke();
    }

    /// <summary>
    /// Applies one event of the live stream; an id seen before (a replay after reconnecting) is ignored. Returns the id
    /// of a task the store does not know yet (an update to a task older than the list read at start), to be fetched.
    /// </summary>
    public Guid? Apply(OsirisEvent e)
    {
        bool tasksChanged, taskChanged = false;
        Guid? unknown;
        lock (_gate)
        {
            if (e.Id <= LastEventId)
            {
                return null;
            }
            LastEventId = e.Id;
            var before = _tasks;
            _tasks = TaskListReducer.Apply(_tasks, e, out unknown);
            tasksChanged = !ReferenceEquals(before, _tasks);
            if (e.TaskId is Guid id && _details.TryGetValue(id, out var slot))
            {
                if (slot.Pending is { } pending)
                {
                    pending.Add(e); // the history is still loading; applied after it
                }
                else
                {
                    slot.State = TaskDetailReducer.Apply(slot.State, e);
                    taskChanged = true;
                }
            }
        }

        if (tasksChanged)
        {
            TasksChanged?.Invoke();
        }
        if (taskChanged || tasksChanged && e.TaskId is not null)
        {
            TaskChanged?.Invoke(e.TaskId!.Value);
        }
        if (e.Type == EventTypes.SystemNotification)
        {
            var n = e.Payload.Deserialize<SystemNotificationPayload>(OsirisJson.Options)!;
            Notified?.Invoke(new Notification(e.Id, n.Level, n.Text, e.TaskId, e.Timestamp));
        }
        return unknown;
    }

    /// <summary>
    /// Claims the loading of a task's history. True: the caller loads it and ends with <see cref="CompleteDetail"/> or
    /// <see cref="AbandonDetail"/>; live events arriving meanwhile wait. False: someone else is loading it or has;
    /// <paramref name="loaded"/> completes with whether the task exists.
    /// </summary>
    public bool TryClaimDetail(Guid id, out Task<bool> loaded)
    {
        lock (_gate)
        {
            if (_details.TryGetValue(id, out var slot))
            {
                loaded = slot.Ready.Task;
                return false;
            }
            slot = new DetailSlot();
            _details[id] = slot;
            loaded = slot.Ready.Task;
            return true;
        }
    }

    /// <summary>
    /// The history is loaded: it and the events that arrived meanwhile are folded together in id order (the reducer
    /// drops any id already applied, so nothing shows twice), and from now on the detail stays live.
    /// </summary>
    /// <param name="stored">The task's stored messages and files, added where the events no longer show them (retention).</param>
    public void CompleteDetail(TaskDto task, IEnumerable<OsirisEvent> history, TaskHistory? stored = null)
    {
        DetailSlot? slot;
        lock (_gate)
        {
            if (!_details.TryGetValue(task.Id, out slot) || slot.Pending is null)
            {
                return; // not claimed, or completed already: nothing waits for this history
            }
            _tasks = _tasks.ContainsKey(task.Id) ? _tasks : _tasks.SetItem(task.Id, task);
            var detail = TaskDetail.Empty;
            foreach (var e in history.Concat(slot.Pending!.OrderBy(p => p.Id)))
            {
                detail = TaskDetailReducer.Apply(detail, e);
            }
            slot.State = stored is null ? detail : TaskDetailReducer.WithStored(detail, stored);
            slot.Pending = null;
        }
        slot.Ready.TrySetResult(true);
        TaskChanged?.Invoke(task.Id);
    }

    /// <summary>The load found no such task (<paramref name="error"/> null) or failed; the next visit tries again.</summary>
    public void AbandonDetail(Guid id, Exception? error)
    {
        DetailSlot? slot;
        lock (_gate)
        {
            if (!_details.TryGetValue(id, out slot) || slot.Pending is null)
            {
                return; // only a load still in progress can be abandoned
            }
            _details.Remove(id);
        }
        if (error is null)
        {
            slot!.Ready.TrySetResult(false);
        }
        else
        {
            slot!.Ready.TrySetException(error);
        }
    }

    /// <summary>Adds a task the list did not have (fetched after an update named it); a task already known stays as it is.</summary>
    public void AddIfMissing(TaskDto task)
    {
        lock (_gate)
        {
            if (_tasks.ContainsKey(task.Id))
            {
                return;
            }
            _tasks = _tasks.SetItem(task.Id, task);
        }
        TasksChanged?.Invoke();
    }

    /// <summary>Shows a task the UI itself created or changed at once; the API's own event confirms it later.</summary>
    public void Upsert(TaskDto task)
    {
        lock (_gate)
        {
            _tasks = _tasks.SetItem(task.Id, task);
        }
        TasksChanged?.Invoke();
        TaskChanged?.Invoke(task.Id);
    }

    private sealed class DetailSlot
    {
        public TaskDetail State { get; set; } = TaskDetail.Empty;
        public List<OsirisEvent>? Pending { get; set; } = [];
        public TaskCompletionSource<bool> Ready { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
