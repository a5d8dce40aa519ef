using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Osiris.Shared.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class TimeTravel : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "OriginCheckpointId",
                table: "tasks",
                type: "TEXT",
                maxLength: 40,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "OriginKind",
                table: "tasks",
                type: "TEXT",
                maxLength: 20,
                nullable: true);

            migrationBuilder.AddColumn<Guid>(
                name: "OriginTaskId",
                table: "tasks",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "ReplayReport",
                table: "tasks",
                type: "TEXT",
                nullable: true);

            migrationBuilder.CreateIndex(
                name: "IX_tasks_OriginTaskId",
                table: "tasks",
                column: "OriginTaskId");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_tasks_OriginTaskId",
                table: "tasks");

            migrationBuilder.DropColumn(
                name: "OriginCheckpointId",
                table: "tasks");

            migrationBuilder.DropColumn(
                name: "OriginKind",
                table: "tasks");

            migrationBuilder.DropColumn(
                name: "OriginTaskId",
                table: "tasks");

            migrationBuilder.DropColumn(
                name: "ReplayReport",
                table: "tasks");
        }
    }
}
