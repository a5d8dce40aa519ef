using System.Collections.Immutable;
using System.Text.Json;
using Osiris.Shared.Contracts;

namespace Osiris.Web.Live;

/// <summary>
/// The one state store of this web instance: the tasks the dashboard lists, the details of the tasks someone opened,
/// and the connection. Fed by <see cref="EventStreamService"/> and <see cref="LiveLoader"/>; it makes no calls itself.
/// Components read immutable snapshots and re-render on the change events (which fire on the stream's thread, so
/// components marshal with <c>InvokeAsync</c>).
/// </summary>
/// <remarks>
/// Its memory is bounded however long the web runs: the list keeps the <paramref name="taskCapacity"/> most recently
/// changed tasks (an older one still opens by its address, and comes back into the list when it changes), and of the
/// task views nobody has open the <paramref name="idleDetails"/> most recently closed stay loaded; the others are read
/// again from the API when someone opens them.
/// </remarks>
public sealed class LiveStore(int taskCapacity = LiveStore.DefaultTaskCapacity, int idleDetails = LiveStore.DefaultIdleDetails)
{
    /// <summary>As many tasks as the web reads at start.</summary>
    public const int DefaultTaskCapacity = 2000;
    public const int DefaultIdleDetails = 32;

    private readonly Lock _gate = new();
    private readonly Dictionary<Guid, DetailSlot> _details = [];
    private ImmutableDictionary<Guid, TaskDto> _tasks = ImmutableDictionary<Guid, TaskDto>.Empty;
    private long _closings;

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
            return _details.TryGetValue(id, out var slot) && slot is { Pending: null, Unclaimed: false } ? slot.State : null;
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
            TrimTasks();
            tasksChanged = !ReferenceEquals(before, _tasks);
            if (e.TaskId is Guid id && _details.TryGetValue(id, out var slot) && !slot.Unclaimed)
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
                if (!slot.Unclaimed)
                {
                    return false;
                }
                (slot.Unclaimed, slot.Pending) = (false, []);
                return true;
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
            TrimTasks();
            var detail = TaskDetail.Empty;
            foreach (var e in history.Concat(slot.Pending!.OrderBy(p => p.Id)))
            {
                detail = TaskDetailReducer.Apply(detail, e);
            }
            slot.State = stored is null ? detail : TaskDetailReducer.WithStored(detail, stored);
            slot.Pending = null;
            if (slot.Viewers == 0)
            {
                slot.ClosedAt = ++_closings; // loaded for a view that closed meanwhile
                EvictIdleDetails();
            }
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
            if (slot.Viewers > 0)
            {
                _details[id] = new DetailSlot { Pending = null, Unclaimed = true, Viewers = slot.Viewers }; // still watched
            }
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
            TrimTasks();
        }
        TasksChanged?.Invoke();
    }

    /// <summary>Shows a task the UI itself created or changed at once; the API's own event confirms it later.</summary>
    public void Upsert(TaskDto task)
    {
        lock (_gate)
        {
            _tasks = _tasks.SetItem(task.Id, task);
            TrimTasks();
        }
        TasksChanged?.Invoke();
        TaskChanged?.Invoke(task.Id);
    }

    /// <summary>
    /// A view of the task is open until the result is disposed: its detail stays loaded and live meanwhile. Taken
    /// before the history is loaded, so that a detail is never dropped between its load and its first render.
    /// </summary>
    public IDisposable Watch(Guid id)
    {
        lock (_gate)
        {
            if (!_details.TryGetValue(id, out var slot))
            {
                slot = new DetailSlot { Pending = null, Unclaimed = true };
                _details[id] = slot;
            }
            slot.Viewers++;
        }
        return new Viewer(this, id);
    }

    private void Unwatch(Guid id)
    {
        lock (_gate)
        {
            if (!_details.TryGetValue(id, out var slot) || --slot.Viewers > 0)
            {
                return;
            }
            if (slot.Unclaimed)
            {
                _details.Remove(id); // watched, never loaded (the task did not exist, or its load failed)
                return;
            }
            slot.ClosedAt = ++_closings;
            EvictIdleDetails();
        }
    }

    /// <summary>Drops the loaded details nobody views beyond the <c>idleDetails</c> most recently closed. Under the gate.</summary>
    private void EvictIdleDetails()
    {
        var idle = _details.Where(d => d.Value is { Viewers: 0, Pending: null, Unclaimed: false }).ToList();
        if (idle.Count <= idleDetails)
        {
            return;
        }
        foreach (var (id, _) in idle.OrderBy(d => d.Value.ClosedAt).Take(idle.Count - idleDetails))
        {
            _details.Remove(id);
        }
    }

    /// <summary>
    /// Keeps the list at the <c>taskCapacity</c> most recently changed tasks, and any task whose detail is loaded.
    /// Trims a tenth below the bound at a time, so that a busy stream does not sort the list on every event. Under the gate.
    /// </summary>
    private void TrimTasks()
    {
        if (_tasks.Count <= taskCapacity)
        {
            return;
        }
        var keep = taskCapacity - taskCapacity / 10;
        var dropped = _tasks.Values
            .Where(t => !_details.ContainsKey(t.Id))
            .OrderByDescending(t => t.UpdatedAt)
            .Skip(keep)
            .Select(t => t.Id);
        _tasks = _tasks.RemoveRange(dropped);
    }

    private sealed class Viewer(LiveStore store, Guid id) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                store.Unwatch(id);
            }
        }
    }

    private sealed class DetailSlot
    {
        public TaskDetail State { get; set; } = TaskDetail.Empty;
        public List<OsirisEvent>? Pending { get; set; } = [];
        public TaskCompletionSource<bool> Ready { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        /// <summary>Open views of the task (<see cref="Watch"/>).</summary>
        public int Viewers { get; set; }
        /// <summary>Watched, but nobody has claimed its load yet.</summary>
        public bool Unclaimed { get; set; }
        /// <summary>When its last view closed (an ever-growing count), to drop the longest closed first.</summary>
        public long ClosedAt { get; set; }
    }
}
