select author_id, name, country from {{ ref('authors') }}
