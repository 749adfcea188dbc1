from django.contrib import admin, messages
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.errors import ServiceError

from .models import Notice, PipelineRun, PipelineStep
from .services import resume_pipeline


class PipelineStepInline(admin.TabularInline):
    model = PipelineStep
    extra = 0
    can_delete = False
    fields = ("position", "step", "status", "started_at", "duration_seconds", "attempts", "counts", "error")
    readonly_fields = fields

    @admin.display(description=_("step"))
    def step(self, step: PipelineStep) -> str:
        return step.label


@admin.register(PipelineRun)
class PipelineRunAdmin(admin.ModelAdmin):
    list_display = ("delivery_date", "status", "launches", "created_at", "started_by")
    list_filter = ("status",)
    readonly_fields = ("delivery_date", "status", "launches", "created_at", "started_by")
    inlines = [PipelineStepInline]
    actions = ["resume"]

    @admin.action(description=_("Resume from the first unfinished step"))
    def resume(self, request, queryset):
        for run in queryset:
            try:
                resume_pipeline(run_id=run.pk)
            except ServiceError as exc:
                self.message_user(request, f"{run}: {exc.detail}", messages.WARNING)
            else:
                self.message_user(request, gettext("%(run)s: resumed") % {"run": run})


@admin.register(Notice)
class NoticeAdmin(admin.ModelAdmin):
    list_display = ("delivery_date", "recipient", "subject", "created_at", "sent_at")
    list_filter = ("delivery_date",)
    search_fields = ("recipient__username", "subject")
