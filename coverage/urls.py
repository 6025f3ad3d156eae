
app_name = "coverage"

urlpatterns: list = [
    # Filled by the coverage pages: methodology/, blindspot/ (+ feeds), balance/.
]
