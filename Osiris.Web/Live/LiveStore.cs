using System.Collections.Immutable;
using System.Text.Json;
using Osiris.Shared.Contracts;
using Osiris.Web.Api;

namespace Osiris.Web.Live;

/// <summary>
/// The one state store of this web instance: every task, the details of the tasks someone opened, the connection and
/// the brains. Fed by <see cref="EventStreamService"/>; components read immutable snapshots and re-render on the
/// change events (which fire on the stream's thread, so components marshal with <c>InvokeAsync</c>).
/// </summary>
public sealed class LiveStore(OsirisApi api, ILogger<LiveStore> logger)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<Guid, DetailSlot> _details = [];
    private ImmutableDictionary<Guid, TaskDto> _tasks = ImmutableDictionary<Guid, TaskDto>.Empty;

    public event Action? TasksChanged;
    public event Action<Guid>? TaskChanged;
    public event Action? ConnectionChanged;
    public event Action<Notification>? Notified;
    public event Action? BrainsChanged;

    public bool Initialized { get; private set; }
    public long LastEventId { get; private set; }
    public ConnectionState Connection { get; private set; } = ConnectionState.Connecting;
    public IReadOnlyCollection<TaskDto> Tasks => _tasks.Values.ToList();
    public TaskDto? FindTask(Guid id) => _tasks.GetValueOrDefault(id);
    public BrainCatalog? Brains { get; private set; }

    /// <summary>True once the API answered that it has no brain catalog (an API that predates brains).</summary>
    public bool BrainsUnavailable { get; private set; }

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

    /// <summary>Applies one event of the live stream; an id seen before (a replay after reconnecting) is ignored.</summary>
    public void Apply(OsirisEvent e)
    {
        bool tasksChanged = false, taskChanged = false, unknownTask = false;
        lock (_gate)
        {
            if (e.Id <= LastEventId)
            {
                return;
            }
            LastEventId = e.Id;
            if (e.Type == EventTypes.TaskCreated)
            {
                var task = e.Payload.Deserialize<TaskDto>(OsirisJson.Options)!;
                _tasks = _tasks.SetItem(task.Id, task);
                tasksChanged = true;
            }
            else if (e.Type == EventTypes.TaskUpdate && e.TaskId is Guid updated)
            {
                var update = e.Payload.Deserialize<TaskUpdatePayload>(OsirisJson.Options)!;
                if (_tasks.TryGetValue(updated, out var task))
                {
                    _tasks = _tasks.SetItem(updated, TaskDetailReducer.ApplyUpdate(task, update, e.Timestamp));
                    tasksChanged = true;
                }
                else
                {
                    unknownTask = true;
                }
            }
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
        if (unknownTask)
        {
            _ = FetchTaskAsync(e.TaskId!.Value);
        }
        if (e.Type == EventTypes.SystemNotification)
        {
            var n = e.Payload.Deserialize<SystemNotificationPayload>(OsirisJson.Options)!;
            Notified?.Invoke(new Notification(e.Id, n.Level, n.Text, e.TaskId, e.Timestamp));
        }
    }

    /// <summary>
    /// Loads a task's history once (then it stays live): events arriving meanwhile wait and are applied after it,
    /// and the reducer drops any id already applied, so nothing shows twice.
    /// </summary>
    public async Task<bool> LoadTaskAsync(Guid id, CancellationToken ct)
    {
        DetailSlot slot;
        bool owner = false;
        lock (_gate)
        {
            if (!_details.TryGetValue(id, out slot!))
            {
                slot = new DetailSlot();
                _details[id] = slot;
                owner = true;
            }
        }
        if (!owner)
        {
            return await slot.Ready.Task.WaitAsync(ct);
        }

        try
        {
            var task = _tasks.GetValueOrDefault(id) ?? await api.GetTaskAsync(id, ct);
            if (task is null)
            {
                lock (_gate)
                {
                    _details.Remove(id);
                }
                slot.Ready.TrySetResult(false);
                return false;
            }
            var history = new List<OsirisEvent>();
            const int page = 1000;
            while (true)
            {
                var events = await api.GetTaskEventsAsync(id, history.Count > 0 ? history[^1].Id : 0, page, ct);
                history.AddRange(events);
                if (events.Count < page)
                {
                    break;
                }
            }
            lock (_gate)
            {
                _tasks = _tasks.ContainsKey(id) ? _tasks : _tasks.SetItem(id, task);
                var detail = TaskDetail.Empty;
                foreach (var e in history.Concat(slot.Pending!.OrderBy(p => p.Id)))
                {
                    detail = TaskDetailReducer.Apply(detail, e);
                }
                slot.State = detail;
                slot.Pending = null;
            }
            slot.Ready.TrySetResult(true);
            TaskChanged?.Invoke(id);
            return true;
        }
        catch (Exception e)
        {
            lock (_gate)
            {
                _details.Remove(id); // the next visit tries again
            }
            slot.Ready.TrySetException(e);
            throw;
        }
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

    public async Task LoadBrainsAsync(CancellationToken ct)
    {
        try
        {
            Brains = await api.GetBrainsAsync(ct);
            BrainsUnavailable = Brains is null;
        }
        catch (HttpRequestException e)
        {
            logger.LogWarning(e, "The brain catalog could not be read");
        }
        BrainsChanged?.Invoke();
    }

    public void SetDefaultBrain(BrainChoice choice)
    {
        if (Brains is { } catalog)
        {
            Brains = catalog with { Default = choice };
            BrainsChanged?.Invoke();
        }
    }

    private async Task FetchTaskAsync(Guid id)
    {
        try
        {
            if (await api.GetTaskAsync(id, CancellationToken.None) is { } task)
            {
                lock (_gate)
                {
                    _tasks = _tasks.ContainsKey(id) ? _tasks : _tasks.SetItem(id, task);
                }
                TasksChanged?.Invoke();
            }
        }
        catch (HttpRequestException e)
        {
            logger.LogWarning(e, "Task {TaskId} could not be read", id);
        }
    }

    private sealed class DetailSlot
    {
        public TaskDetail State { get; set; } = TaskDetail.Empty;
        public List<OsirisEvent>? Pending { get; set; } = [];
        public TaskCompletionSource<bool> Ready { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
