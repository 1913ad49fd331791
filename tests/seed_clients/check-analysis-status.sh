#!/bin/bash
# check-analysis-status.sh - CLI tool for checking specific analysis status

SESSION_ID=$1

if [ -z "$SESSION_ID" ]; then
    echo "Usage: $0 <session_id>"
    exit 1
fi

echo "ðŸ” Checking analysis status for session: $SESSION_ID"
echo "=================================================="

# Fetch queue status
response=$(curl -s "http://localhost:8000/api/viral-ideas/queue/$SESSION_ID")

# Check if request was successful
if echo "$response" | jq -e '.success' > /dev/null; then
    # Parse response data
    status=$(echo "$response" | jq -r '.data.status')
    progress=$(echo "$response" | jq -r '.data.progress_percentage')
    username=$(echo "$response" | jq -r '.data.primary_username')
    current_step=$(echo "$response" | jq -r '.data.current_step // "N/A"')
    competitors_count=$(echo "$response" | jq -r '.data.active_competitors_count')

    echo "ðŸ“Š Analysis Details:"
    echo "  User: @$username"
    echo "  Status: $status"
    echo "  Progress: $progress%"
    echo "  Current Step: $current_step"
    echo "  Competitors: $competitors_count"

    # Show timing information
    submitted_at=$(echo "$response" | jq -r '.data.submitted_at')
    echo "  Submitted: $submitted_at"

    if [ "$status" = "processing" ]; then
        estimated_remaining=$(echo "$response" | jq -r '.data.estimated_time_remaining // "N/A"')
        echo "  Estimated Remaining: $estimated_remaining minutes"
    fi

    # Show competitors
    echo ""
    echo "ðŸ† Competitors:"
    echo "$response" | jq -r '.data.competitor_details[] | "  @\(.username) - \(.processing_status) (\(.selection_method))"'

else
    # Handle error response
    error_detail=$(echo "$response" | jq -r '.detail // "Unknown error"')
    echo "âŒ Error: $error_detail"
fi
