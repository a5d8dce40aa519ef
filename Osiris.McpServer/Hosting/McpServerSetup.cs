using Microsoft.Extensions.DependencyInjection.Extensions;
using ModelContextProtocol.Protocol;
using Osiris.McpServer.Checkpoints;
using Osiris.McpServer.Knowledge;
using Osiris.McpServer.Sandbox;
using Osiris.McpServer.Security;
using Osiris.McpServer.Tools;
using Osiris.McpServer.Workspaces;
using Osiris.Shared.Storage;

namespace Osiris.McpServer.Hosting;

/// <summary>The services both transports share: options, workspaces, sandbox, knowledge base and the five tools.</summary>
public static class McpServerSetup
{
    public static IMcpServerBuilder AddOsirisMcpServer(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<WorkspaceOptions>().BindConfiguration(WorkspaceOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<SandboxOptions>().BindConfiguration(SandboxOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<McpSecurityOptions>().BindConfiguration("Mcp")
            .Configure<IConfiguration>((options, configuration) => options.Token ??= configuration["Osiris:McpToken"]);

        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<WorkspaceProvisioner>();
        builder.Services.AddSingleton<WorkspaceFiles>();
        builder.Services.AddScoped<Workspace>();
        builder.Services.AddSingleton<SandboxEnvironment>();
        builder.Services.AddSingleton<CommandRunner>();
        builder.Services.AddOptions<CheckpointOptions>().BindConfiguration(CheckpointOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<CheckpointStore>();
        builder.Services.AddSingleton<WorkspaceActivity>();
        builder.Services.AddSingleton<CheckpointingFilter>();
        builder.Services.AddHealthChecks().AddCheck<SandboxHealthCheck>(SandboxHealthCheck.Name, tags: [SandboxHealthCheck.Name]);
        builder.Services.AddScoped<KnowledgeAccess>();
        // The knowledge base lives in the OSIRIS database. A server started on its own (stdio, --root) without one keeps
        // a SQLite file of its own in the user's data folder, so search_knowledge works there too.
        if (builder.Configuration.GetConnectionString(StorageExtensions.ConnectionName) is not { Length: > 0 })
        {
            var file = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create),
                "osiris", "mcp-knowledge.db");
            builder.Configuration[$"ConnectionStrings:{StorageExtensions.ConnectionName}"] = $"Data Source={file}";
        }
        builder.AddKnowledgeIndexing();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<KnowledgeIndexer>());

        return builder.Services
            .AddMcpServer(options =>
            {
                options.ServerInfo = new Implementation { Name = "osiris-mcp", Title = "OSIRIS MCP server", Version = "1.0.0" };
                options.ServerInstructions =
                    "Tools act inside one workspace folder: read_file, write_file and list_dir take paths relative to it; " +
                    "run_command runs bash in a sandbox with the workspace as its working folder; search_knowledge searches the knowledge base (cite the source ids it returns).";
            })
            .WithTools<ReadFileTool>()
            .WithTools<WriteFileTool>()
            .WithTools<ListDirTool>()
            .WithTools<RunCommandTool>()
            .WithTools<SearchKnowledgeTool>();
    }

}
