using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Osiris.Shared.Contracts;

namespace Osiris.Web.Api;

/// <summary>
/// The API's REST side. Every call goes through the named client "api" (service discovery, resilience) and carries
/// <paramref name="credential"/>: a person's session in components (scoped per circuit), the web's viewer key in the
/// shared live view (the keyed singleton <see cref="Service"/>).
/// </summary>
public sealed class OsirisApi(IHttpClientFactory factory, ApiCredential credential)
{
    public const string ClientName = "api";
    public const string StreamClientName = "api-stream";
    public const string UploadClientName = "api-upload";

    /// <summary>The key of the instance that reads as the web's service identity (<see cref="ServiceCredential"/>).</summary>
    public const string Service = "service";
    private const string Tasks = "/api/v1/tasks";
    private const string Knowledge = "/api/v1/knowledge";

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct, string client = ClientName)
    {
        await credential.ApplyAsync(request);
        return await factory.CreateClient(client).SendAsync(request, ct);
    }

    private async Task<HttpResponseMessage> GetAsync(string path, CancellationToken ct) =>
        await SendAsync(new HttpRequestMessage(HttpMethod.Get, path), ct);

    private async Task<T?> GetFromJsonAsync<T>(string path, CancellationToken ct)
    {
        using var response = await GetAsync(path, ct);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<T>(OsirisJson.Options, ct);
    }

    /// <summary>Every task (page by page, newest first, at most <paramref name="max"/>) and the newest event id before the read.</summary>
    public async Task<(List<TaskDto> Tasks, long LastEventId)> ListTasksAsync(int max, CancellationToken ct)
    {
        var tasks = new List<TaskDto>();
        long? lastEventId = null;
        for (var page = 1; tasks.Count < max; page++)
        {
            using var response = await GetAsync($"{Tasks}?page={page}&pageSize=200", ct);
            response.EnsureSuccessStatusCode();
            // The first page's header is the one to resume from: later pages only add older tasks.
            lastEventId ??= long.Parse(response.Headers.GetValues("X-Last-Event-Id").Single(), CultureInfo.InvariantCulture);
            var items = (await response.Content.ReadFromJsonAsync<TaskPage>(OsirisJson.Options, ct))!;
            tasks.AddRange(items.Items);
            if (items.Items.Count < items.PageSize || tasks.Count >= items.Total)
            {
                break;
            }
        }
        return (tasks, lastEventId ?? 0);
    }

    public async Task<TaskDto?> GetTaskAsync(Guid id, CancellationToken ct)
    {
        using var response = await GetAsync($"{Tasks}/{id}", ct);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<TaskDto>(OsirisJson.Options, ct);
    }

    public async Task<List<OsirisEvent>> GetTaskEventsAsync(Guid id, long after, int limit, CancellationToken ct) =>
        await GetFromJsonAsync<List<OsirisEvent>>($"{Tasks}/{id}/events?after={after}&limit={limit}", ct) ?? [];

    /// <summary>
    /// Creates the task with the form's <c>Idempotency-Key</c>: sending the same form again (a retry after a timeout, a
    /// second click) gives back the task the first send made, never a second one.
    /// </summary>
    public async Task<ApiResult<TaskDto>> CreateTaskAsync(NewTaskForm form, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Tasks)
        {
            Content = JsonContent.Create(new
            {
                title = form.Title.Trim(),
                description = form.Description,
                brain = string.IsNullOrEmpty(form.Brain) ? null : form.Brain,
                model = string.IsNullOrEmpty(form.Model) ? null : form.Model,
                requireApproval = form.RequireApproval,
                knowledgeCollections = form.KnowledgeCollections,
                source = TaskSources.Ui,
            }, options: OsirisJson.Options),
        };
        request.Headers.Add("Idempotency-Key", form.IdempotencyKey);
        try
        {
            using var response = await SendAsync(request, ct);
            return await ApiResult<TaskDto>.ReadAsync(response, ct);
        }
        catch (Exception e) when (IsUnreachable(e))
        {
            return ApiResult<TaskDto>.Failed(Unreachable(e));
        }
    }

    /// <summary>The API is down, slow past the client's timeout, or the connection broke: a state to show, not a crash.</summary>
    public static bool IsUnreachable(Exception e) =>
        e is HttpRequestException or Polly.Timeout.TimeoutRejectedException or Polly.CircuitBreaker.BrokenCircuitException
            or TaskCanceledException { InnerException: TimeoutException };

    public static string Unreachable(Exception e) => e switch
    {
        Polly.Timeout.TimeoutRejectedException or TaskCanceledException => "The API did not answer in time; nothing was lost — try again.",
        Polly.CircuitBreaker.BrokenCircuitException => "The API is not answering; nothing was lost — try again in a moment.",
        _ => $"The API cannot be reached ({e.Message}); nothing was lost — try again.",
    };

    public async Task<ApiResult> PostMessageAsync(Guid id, string text, CancellationToken ct) =>
        await SendJsonAsync(HttpMethod.Post, $"{Tasks}/{id}/messages", new { text }, ct);

    public async Task<ApiResult> CancelAsync(Guid id, CancellationToken ct) =>
        await SendJsonAsync(HttpMethod.Post, $"{Tasks}/{id}/cancel", null, ct);

    public async Task<ApiResult> DecideApprovalAsync(Guid id, string approvalId, bool approve, CancellationToken ct) =>
        await SendJsonAsync(HttpMethod.Post, $"{Tasks}/{id}/approvals/{Uri.EscapeDataString(approvalId)}", new ApprovalDecision(approve), ct);

    public async Task<ApiResult> ResumeAsync(Guid id, decimal? raiseBudgetUsd, CancellationToken ct) =>
        await SendJsonAsync(HttpMethod.Post, $"{Tasks}/{id}/resume", new ResumeRequest(raiseBudgetUsd), ct);

    /// <summary>Spend per day and channel over the last <paramref name="days"/> days; null when the API cannot be reached.</summary>
    public async Task<SpendReport?> GetSpendAsync(int days, CancellationToken ct)
    {
        try
        {
            return await GetFromJsonAsync<SpendReport>($"/api/v1/spend?days={days}", ct);
        }
        catch (Exception e) when (IsUnreachable(e))
        {
            return null;
        }
    }

    public async Task<TrustPolicy?> GetTrustAsync(CancellationToken ct) =>
        await GetFromJsonAsync<TrustPolicy>("/api/v1/settings/trust", ct);

    public async Task<ApiResult<TrustPolicy>> SetTrustAsync(TrustPolicy policy, CancellationToken ct)
    {
        try
        {
            using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Put, "/api/v1/settings/trust")
            {
                Content = JsonContent.Create(policy, options: OsirisJson.Options),
            }, ct);
            return await ApiResult<TrustPolicy>.ReadAsync(response, ct);
        }
        catch (Exception e) when (IsUnreachable(e))
        {
            return ApiResult<TrustPolicy>.Failed(Unreachable(e));
        }
    }

    public async Task<ApiResult> SetSenderAsync(string channel, string id, string level, CancellationToken ct) =>
        await SendJsonAsync(HttpMethod.Put, $"/api/v1/senders/{Uri.EscapeDataString(channel)}/{Uri.EscapeDataString(id)}", new SenderLevelRequest(level), ct);

    public async Task<ApiResult> DecideReplyAsync(Guid id, Guid replyId, string action, string? text, CancellationToken ct) =>
        await SendJsonAsync(HttpMethod.Post, $"{Tasks}/{id}/replies/{replyId}", new ReplyDecision(action, text), ct);

    /// <summary>The services' state (the sandbox); null when the API cannot be reached.</summary>
    public async Task<SystemStatus?> GetStatusAsync(CancellationToken ct)
    {
        try
        {
            return await GetFromJsonAsync<SystemStatus>("/api/v1/status", ct);
        }
        catch (Exception e) when (IsUnreachable(e))
        {
            return null;
        }
    }

    public async Task<ApiResult> SetTaskBrainAsync(Guid id, BrainChoice choice, CancellationToken ct) =>
        await SendJsonAsync(HttpMethod.Put, $"{Tasks}/{id}/brain", choice, ct);

    public async Task<ApiResult> SetDefaultBrainAsync(BrainChoice choice, CancellationToken ct) =>
        await SendJsonAsync(HttpMethod.Put, "/api/v1/settings/brain", choice, ct);

    /// <summary>The brain catalog, or null while the API has none (404: an API without brains yet).</summary>
    public async Task<BrainCatalog?> GetBrainsAsync(CancellationToken ct)
    {
        using var response = await GetAsync("/api/v1/brains", ct);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<BrainCatalog>(OsirisJson.Options, ct);
    }

    /// <summary>The newest audit entries (admins only; null when the API refuses or cannot be reached).</summary>
    public async Task<AuditPage?> GetAuditAsync(int limit, CancellationToken ct)
    {
        try
        {
            using var response = await GetAsync($"/api/v1/audit?limit={limit}", ct);
            return response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<AuditPage>(OsirisJson.Options, ct) : null;
        }
        catch (Exception e) when (IsUnreachable(e))
        {
            return null;
        }
    }

    public async Task<ApiResult<KnowledgeStatusDto>> GetKnowledgeStatusAsync(CancellationToken ct) =>
        await ReadAsync<KnowledgeStatusDto>(new HttpRequestMessage(HttpMethod.Get, $"{Knowledge}/status"), ct);

    public async Task<ApiResult<List<KnowledgeCollectionDto>>> ListCollectionsAsync(CancellationToken ct) =>
        await ReadAsync<List<KnowledgeCollectionDto>>(new HttpRequestMessage(HttpMethod.Get, $"{Knowledge}/collections"), ct);

    public async Task<ApiResult<KnowledgeCollectionDto>> CreateCollectionAsync(CreateCollectionRequest collection, CancellationToken ct) =>
        await ReadAsync<KnowledgeCollectionDto>(new HttpRequestMessage(HttpMethod.Post, $"{Knowledge}/collections")
        {
            Content = JsonContent.Create(collection, options: OsirisJson.Options),
        }, ct);

    public async Task<ApiResult> DeleteCollectionAsync(Guid id, CancellationToken ct) =>
        await SendJsonAsync(HttpMethod.Delete, $"{Knowledge}/collections/{id}", null, ct);

    public async Task<ApiResult<List<KnowledgeDocumentDto>>> ListDocumentsAsync(Guid collectionId, CancellationToken ct) =>
        await ReadAsync<List<KnowledgeDocumentDto>>(new HttpRequestMessage(HttpMethod.Get, $"{Knowledge}/collections/{collectionId}/documents"), ct);

    /// <summary>
    /// Sends the files as they are read (one <c>file</c> part each), never buffered whole here; on the upload client,
    /// which neither retries (a stream cannot be read twice) nor gives up after the REST calls' 10 s.
    /// </summary>
    public async Task<ApiResult<List<KnowledgeDocumentDto>>> UploadDocumentsAsync(
        Guid collectionId, IReadOnlyList<(string Name, string ContentType, Stream Content)> files, CancellationToken ct)
    {
        var form = new MultipartFormDataContent();
        foreach (var (name, contentType, content) in files)
        {
            var part = new StreamContent(content);
            part.Headers.ContentType = MediaTypeHeaderValue.TryParse(contentType, out var type) ? type : new("application/octet-stream");
            form.Add(part, "file", name);
        }
        return await ReadAsync<List<KnowledgeDocumentDto>>(
            new HttpRequestMessage(HttpMethod.Post, $"{Knowledge}/collections/{collectionId}/documents") { Content = form }, ct, UploadClientName);
    }

    /// <summary>A document and its chunks, by id or by key (the first part of its source ids).</summary>
    public async Task<ApiResult<KnowledgeDocumentView>> GetDocumentAsync(string idOrKey, CancellationToken ct)
    {
        try
        {
            using var response = await GetAsync($"{Knowledge}/documents/{Uri.EscapeDataString(idOrKey)}", ct);
            return response.StatusCode == HttpStatusCode.NotFound
                ? ApiResult<KnowledgeDocumentView>.Failed($"There is no document '{idOrKey}'; it may have been deleted.")
                : await ApiResult<KnowledgeDocumentView>.ReadAsync(response, ct);
        }
        catch (Exception e) when (IsUnreachable(e))
        {
            return ApiResult<KnowledgeDocumentView>.Failed(Unreachable(e));
        }
    }

    public async Task<ApiResult> DeleteDocumentAsync(Guid id, CancellationToken ct) =>
        await SendJsonAsync(HttpMethod.Delete, $"{Knowledge}/documents/{id}", null, ct);

    /// <summary>Searches <paramref name="collections"/> (null or empty: every collection).</summary>
    public async Task<ApiResult<KnowledgeSearchResult>> SearchKnowledgeAsync(string query, IReadOnlyCollection<string>? collections, int limit, CancellationToken ct)
    {
        var path = $"{Knowledge}/search?q={Uri.EscapeDataString(query)}&limit={limit}";
        if (collections is { Count: > 0 })
        {
            path += $"&collections={Uri.EscapeDataString(string.Join(',', collections))}";
        }
        return await ReadAsync<KnowledgeSearchResult>(new HttpRequestMessage(HttpMethod.Get, path), ct);
    }

    /// <summary>A task's stored messages and files (they outlive the event log).</summary>
    public async Task<TaskHistory?> GetHistoryAsync(Guid id, CancellationToken ct) =>
        await GetFromJsonAsync<TaskHistory>($"{Tasks}/{id}/history", ct);

    public async Task<ApiResult<CheckpointList>> GetCheckpointsAsync(Guid id, CancellationToken ct) =>
        await ReadAsync<CheckpointList>(new HttpRequestMessage(HttpMethod.Get, $"{Tasks}/{id}/checkpoints"), ct);

    public async Task<ApiResult<CheckpointDiff>> GetCheckpointDiffAsync(Guid id, string from, string? to, CancellationToken ct) =>
        await ReadAsync<CheckpointDiff>(new HttpRequestMessage(HttpMethod.Get,
            $"{Tasks}/{id}/checkpoints/{Uri.EscapeDataString(from)}/diff{(to is null ? "" : "?to=" + Uri.EscapeDataString(to))}"), ct);

    /// <summary>On the client that neither retries nor gives up after 10 s: a restore of a large workspace copies every file, once.</summary>
    public async Task<ApiResult<RestoreResult>> RestoreCheckpointAsync(Guid id, string checkpointId, CancellationToken ct) =>
        await ReadAsync<RestoreResult>(new HttpRequestMessage(HttpMethod.Post, $"{Tasks}/{id}/checkpoints/{Uri.EscapeDataString(checkpointId)}/restore"), ct,
            UploadClientName);

    public async Task<ApiResult<TaskDto>> ForkAsync(Guid id, string checkpointId, ForkRequest request, CancellationToken ct) =>
        await ReadAsync<TaskDto>(new HttpRequestMessage(HttpMethod.Post, $"{Tasks}/{id}/checkpoints/{Uri.EscapeDataString(checkpointId)}/fork")
        {
            Content = JsonContent.Create(request, options: OsirisJson.Options),
        }, ct, UploadClientName);

    public async Task<ApiResult<TaskDto>> ReplayAsync(Guid id, CancellationToken ct) =>
        await ReadAsync<TaskDto>(new HttpRequestMessage(HttpMethod.Post, $"{Tasks}/{id}/replay"), ct, UploadClientName);

    /// <summary>Ends the session this credential carries (the sign-out button).</summary>
    public async Task<ApiResult> SignOutAsync(CancellationToken ct) => await SendJsonAsync(HttpMethod.Post, "/api/v1/auth/sign-out", null, ct);

    private async Task<ApiResult<T>> ReadAsync<T>(HttpRequestMessage request, CancellationToken ct, string client = ClientName)
    {
        using (request)
        {
            try
            {
                using var response = await SendAsync(request, ct, client);
                return await ApiResult<T>.ReadAsync(response, ct);
            }
            catch (Exception e) when (IsUnreachable(e))
            {
                return ApiResult<T>.Failed(Unreachable(e));
            }
        }
    }

    private async Task<ApiResult> SendJsonAsync(HttpMethod method, string path, object? body, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, body.GetType(), options: OsirisJson.Options);
        }
        try
        {
            using var response = await SendAsync(request, ct);
            return await ApiResult.ReadAsync(response, ct);
        }
        catch (Exception e) when (IsUnreachable(e))
        {
            return ApiResult.Failed(Unreachable(e));
        }
    }
}
