using Osiris.AppHost;
using Osiris.AppHost.Infrastructure;

var builder = DistributedApplication.CreateBuilder(args);

var infrastructure = builder.AddOsirisInfrastructure();

// Generated on first run and kept in the AppHost's user secrets unless the user sets Parameters:api-key.
var apiKey = builder.AddParameter("api-key", new GenerateParameterDefault { MinLength = 32, Special = false }, secret: true, persist: true);

var api = builder.AddProject<Projects.Osiris_Api>("api")
    .WithInfrastructure(infrastructure)
    .WithEnvironment("Osiris__ApiKey", apiKey)
    .WithChannelParameters()
    .WithOsirisDefaults()
    .WithConfiguredReplicas("Api");

// The MCP server's bearer token, shared with the agent; generated and kept in user secrets like api-key.
var mcpToken = builder.AddParameter("mcp-token", new GenerateParameterDefault { MinLength = 32, Special = false }, secret: true, persist: true);
var dataDir = infrastructure.DataDir;

var mcpServer = builder.AddProject<Projects.Osiris_McpServer>("mcpserver")
    .WithEnvironment("Osiris__McpToken", mcpToken)
    .WithEnvironment("Workspaces__Root", builder.Configuration["Workspaces:Root"]
        // Published: a folder the deployment mounts as a volume shared by every MCP server replica (README, "Deploying").
        ?? (builder.ExecutionContext.IsPublishMode ? "/var/lib/osiris/workspaces" : Path.Combine(dataDir, "workspaces")))
    .WithInfrastructure(infrastructure) // the knowledge base lives in the database; the MCP server indexes it
    .WithOsirisDefaults()
    .WithConfiguredReplicas("McpServer"); // replicas share Workspaces:Root (with its checkpoints): one folder, or one shared volume
// For the sandbox's state in GET /api/v1/status, and the workspaces' checkpoints (with the MCP token); the API does not wait for it.
api.WithReference(mcpServer).WithEnvironment("Osiris__McpToken", mcpToken);

var agent = builder.AddProject<Projects.Osiris_Agent>("agent")
    .WithHttpEndpoint(name: "http")
    .WithEnvironment("Agent__Mcp__Token", mcpToken)
    .WithOsirisDefaults()
    .WithInfrastructure(infrastructure)
    .WaitFor(api) // the API applies the database migrations the agent relies on
    .WithReference(mcpServer).WaitFor(mcpServer)
    .WithConfiguredReplicas("Agent");

builder.WithBrainParameters(api, agent);

// The web never holds the api-key: people sign in through the API, and each call carries that person's session.
var web = builder.AddProject<Projects.Osiris_Web>("web")
    .WithExternalHttpEndpoints()
    .WithOsirisDefaults()
    .WithReference(api).WaitFor(api);

builder.WithPeopleParameters(api, web);
builder.WithEmbeddingParameters(api, mcpServer);

builder.Build().Run();
